"""Twilio webhooks: verify the signature, store the event in the inbox, answer at once.

The signed URL is rebuilt from PUBLIC_BASE_URL (what Twilio was configured to call), never from
the request's Host, so a TLS-terminating proxy cannot break validation. A bad signature is 403 and
nothing is stored. Work happens in apps.comms.services.inbound, from the inbox, in a worker, where
message and call SIDs are looked up only among the receiving connection's business's logs.
"""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlencode

import structlog
from django.conf import settings
from django.core.exceptions import SuspiciousOperation
from django.http import HttpResponse, HttpResponseForbidden
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.comms.models import CommsSettings, SenderNumber
from apps.comms.providers.twilio import (
    TwilioProvider,
    twiml_connect_call,
    twiml_inbound_menu,
    twiml_message,
)
from apps.comms.services.consent import classify_reply
from apps.comms.services.email import TrackingApplyError
from apps.integrations.activity import activity_record
from apps.integrations.inbox import inbound_event_receive
from apps.integrations.models import ActivityKind, IntegrationConnection, Outcome

TWIML = "text/xml"
logger = structlog.get_logger(__name__)


def _verified(request, *numbers: str):
    """(connection, sender number or None) whose auth token signed this request, else None."""
    senders = list(
        SenderNumber.objects.filter(phone__in=[n for n in numbers if n]).select_related(
            "connection", "business"
        )
    )
    candidates = [s.connection for s in senders]
    account = request.POST.get("AccountSid", "")
    # A known number answers only to its own connection's token; the account lookup is for
    # callbacks that carry none of our numbers (recordings).
    if account and not senders:
        candidates += list(
            IntegrationConnection.objects.filter(provider="twilio", external_account_id=account)
        )
    url = settings.PUBLIC_BASE_URL + request.get_full_path()
    signature = request.headers.get("X-Twilio-Signature", "")
    for connection in candidates:
        if TwilioProvider(connection).signature_valid(
            url=url, params=request.POST, signature=signature
        ):
            sender = next((s for s in senders if s.connection_id == connection.pk), None)
            return connection, sender
    for connection in {c.pk: c for c in candidates}.values():
        # Someone posted for this connection's numbers without its token: count it.
        activity_record(
            connection=connection,
            kind=ActivityKind.WEBHOOK,
            operation=f"twilio {request.path.rsplit('/', 1)[-1]} refused",
            outcome=Outcome.REJECTED,
            status_code=403,
            error_message="The X-Twilio-Signature does not match this connection's auth token.",
        )
    return None


def _store(request, connection, event_id: str, event_type: str) -> None:
    inbound_event_receive(
        provider="twilio",
        # Scoped by connection: a SID another account posts first cannot claim the dedupe key
        # of the real callback (the inbox's key is unique across all connections).
        provider_event_id=f"{connection.pk}:{event_id}",
        event_type=event_type,
        body=urlencode(list(request.POST.lists()), doseq=True),
        headers=dict(request.headers),
        connection=connection,
    )


def _forbidden() -> HttpResponse:
    return HttpResponseForbidden("Invalid Twilio signature.", content_type="text/plain")


@csrf_exempt
@require_POST
def status_callback(request):
    found = _verified(request, request.POST.get("From", ""), request.POST.get("To", ""))
    if found is None:
        return _forbidden()
    sid = request.POST.get("MessageSid") or request.POST.get("SmsSid", "")
    status = request.POST.get("MessageStatus") or request.POST.get("SmsStatus", "")
    if not sid or not status:
        return HttpResponse("MessageSid and MessageStatus are required.", status=400)
    _store(request, found[0], f"status:{sid}:{status}", "message.status")
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def inbound_sms(request):
    found = _verified(request, request.POST.get("To", ""))
    if found is None:
        return _forbidden()
    connection, _sender = found
    sid = request.POST.get("MessageSid", "")
    if not sid or not request.POST.get("From"):
        return HttpResponse("MessageSid and From are required.", status=400)
    _store(request, connection, f"sms:{sid}", "message.inbound")
    reply = ""
    if classify_reply(request.POST.get("Body", "")) == "help":
        reply = help_text(connection.business)
    return HttpResponse(twiml_message(reply), content_type=TWIML)


def help_text(business) -> str:
    cfg = CommsSettings.for_business(business)
    return cfg.help_text or (
        f"{business.name}: for help call {business.main_phone}. Reply STOP to opt out. "
        "Msg&data rates may apply."
    )


# Where a call is in the main line's menu: our TwiML puts it in the query string of the URLs
# Twilio calls next (the body carries only what Twilio adds, e.g. Digits after a key press).
MENU_KEY, MENU_NO_KEY = "key", "none"
EMERGENCY_KEY = "1"


def _menu_step(request) -> str | None:
    """None for a new call; MENU_KEY after a key press; MENU_NO_KEY when nothing was pressed."""
    step = request.GET.get("menu")
    if step in (MENU_KEY, MENU_NO_KEY):
        return step
    if "Digits" in request.GET:
        # TwiML served before this fix redirected "no key" to ?Digits=1 (a call may still be
        # in that menu during a deploy): it meant "nothing pressed", never the emergency key.
        return MENU_NO_KEY
    if "Digits" in request.POST:
        return MENU_KEY  # that older TwiML's Gather posted keys to the bare URL
    return None


@csrf_exempt
@require_POST
def inbound_voice(request):
    """Inbound call: the emergency line rings the on-call phone at once; the main line offers a
    menu where 1 is the emergency line and anything else (another key, no key) rings the office,
    so no caller is left in the menu."""
    found = _verified(request, request.POST.get("To", ""))
    if found is None:
        return _forbidden()
    connection, sender = found
    business = connection.business
    call_sid = request.POST.get("CallSid", "")
    if not call_sid:
        return HttpResponse("CallSid is required.", status=400)
    step = _menu_step(request)
    recording_cb = settings.PUBLIC_BASE_URL + reverse("comms:twilio-voice-recording")
    if step is None:
        _store(request, connection, f"call:{call_sid}:inbound", "call.inbound")
    on_emergency_line = sender is not None and sender.role == SenderNumber.Role.EMERGENCY
    if on_emergency_line or (
        step == MENU_KEY and request.POST.get("Digits", "").strip() == EMERGENCY_KEY
    ):
        emergency = SenderNumber.objects.filter(
            business=business, role=SenderNumber.Role.EMERGENCY, active=True
        ).first()
        target = (emergency.forward_to if emergency else None) or business.emergency_phone
        twiml = twiml_connect_call(
            greeting=f"{business.name} emergency line. Connecting you now.",
            dial_to=str(target or ""),
            record=True,
            recording_callback=recording_cb,
        )
    elif step is None:
        here = settings.PUBLIC_BASE_URL + reverse("comms:twilio-voice")
        twiml = twiml_inbound_menu(
            greeting=f"Thanks for calling {business.name}. For a heating, cooling, plumbing or "
            f"electrical emergency, press {EMERGENCY_KEY}. Otherwise, stay on the line.",
            on_key=f"{here}?menu={MENU_KEY}",
            on_no_key=f"{here}?menu={MENU_NO_KEY}",
        )
    else:
        target = (sender.forward_to if sender else None) or business.main_phone
        twiml = twiml_connect_call(
            greeting="Connecting you to our office.",
            dial_to=str(target or ""),
            record=True,
            recording_callback=recording_cb,
        )
    return HttpResponse(twiml, content_type=TWIML)


@csrf_exempt
@require_POST
def voice_status(request):
    found = _verified(request, request.POST.get("From", ""), request.POST.get("To", ""))
    if found is None:
        return _forbidden()
    sid, status = request.POST.get("CallSid", ""), request.POST.get("CallStatus", "")
    if not sid or not status:
        return HttpResponse("CallSid and CallStatus are required.", status=400)
    _store(request, found[0], f"callstatus:{sid}:{status}", "call.status")
    return HttpResponse(status=204)


@csrf_exempt
@require_POST
def voice_recording(request):
    found = _verified(request, request.POST.get("From", ""), request.POST.get("To", ""))
    if found is None:
        return _forbidden()
    sid, status = request.POST.get("RecordingSid", ""), request.POST.get("RecordingStatus", "")
    if not sid or not request.POST.get("CallSid"):
        return HttpResponse("RecordingSid and CallSid are required.", status=400)
    _store(request, found[0], f"recording:{sid}:{status}", "call.recording")
    return HttpResponse(status=204)


def anymail_guarded(view):
    """anymail's tracking view, with a malformed webhook answered 400 instead of 500.

    anymail checks the basic auth (a failure is its SuspiciousOperation: 400) and then parses
    the ESP's payload without guarding it: an empty, non-JSON or wrongly shaped body raises
    whatever json or a KeyError raises. Those are the sender's fault (400, logged by class name,
    never the body); a failure in our own receiver stays a 500 so the ESP retries.
    """

    @wraps(view)
    def guarded(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except (TrackingApplyError, SuspiciousOperation):
            raise
        except Exception as exc:
            logger.warning("anymail_webhook_malformed", path=request.path, error=type(exc).__name__)
            return HttpResponse("Malformed webhook payload.", status=400, content_type="text/plain")

    return guarded
