from django.urls import path

from apps.payments.webhooks.views import stripe_webhook

# Mounted under "webhooks/" in thorbis/urls.py (other apps may mount their own webhooks there).
urlpatterns = [
    path("stripe", stripe_webhook, name="stripe-webhook-platform"),
    path("stripe/<int:connection_id>", stripe_webhook, name="stripe-webhook"),
]
