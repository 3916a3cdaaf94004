"""Mounted at /webhooks/ by one line in thorbis/urls.py."""

from django.urls import path

from apps.accounting import webhooks

urlpatterns = [
    path("quickbooks", webhooks.quickbooks_webhook, name="webhook-quickbooks"),
    path("xero", webhooks.xero_webhook, name="webhook-xero"),
]
