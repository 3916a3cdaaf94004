"""Mounted at /webhooks/ by one line in thorbis/urls.py."""

from anymail import urls as anymail_urls
from django.urls import include, path
from django.urls.resolvers import URLPattern

from apps.comms import webhooks

app_name = "comms"

# anymail's ESP tracking views only (we handle no inbound email), each guarded so that a
# malformed payload is a 400: /webhooks/anymail/<esp>/tracking/
anymail_tracking = [
    URLPattern(p.pattern, webhooks.anymail_guarded(p.callback), p.default_args, p.name)
    for p in anymail_urls.urlpatterns
    if p.name and p.name.endswith("_tracking_webhook")
]

urlpatterns = [
    path("twilio/status", webhooks.status_callback, name="twilio-status"),
    path("twilio/sms", webhooks.inbound_sms, name="twilio-sms"),
    path("twilio/voice", webhooks.inbound_voice, name="twilio-voice"),
    path("twilio/voice/status", webhooks.voice_status, name="twilio-voice-status"),
    path("twilio/voice/recording", webhooks.voice_recording, name="twilio-voice-recording"),
    path("anymail/", include((anymail_tracking, "anymail"))),
]
