from django.urls import include, path

from apps.comms import webhooks

app_name = "comms"

urlpatterns = [
    path("twilio/status", webhooks.status_callback, name="twilio-status"),
    path("twilio/sms", webhooks.inbound_sms, name="twilio-sms"),
    path("twilio/voice", webhooks.inbound_voice, name="twilio-voice"),
    path("twilio/voice/status", webhooks.voice_status, name="twilio-voice-status"),
    path("twilio/voice/recording", webhooks.voice_recording, name="twilio-voice-recording"),
    # anymail's ESP tracking views: /webhooks/anymail/<esp>/tracking/
    path("anymail/", include("anymail.urls")),
]
