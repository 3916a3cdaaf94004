"""POST /webhooks/stripe[/<connection id>]: verify, store in the inbox, answer at once.

Nothing here calls Stripe: the signature is checked with the SDK (300 s tolerance; the current and
the previous signing secret are both accepted during a rotation), the raw body goes into the inbox
under its unique event id, and a worker processes it. A bad or stale signature answers 400 and
stores nothing processable (only an activity row counting the rejection, for monitoring).

Per-connection URLs serve businesses with their own Stripe account (the endpoint's secret lives in
the connection's encrypted credentials); the bare URL serves a Connect platform whose events carry
`account`, with secrets from PAYMENTS_STRIPE_PLATFORM_WEBHOOK_SECRETS.
"""

from __future__ import annotations

import json
import time

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.integrations.activity import activity_record
from apps.integrations.inbox import inbound_event_receive
from apps.integrations.models import ActivityKind, IntegrationConnection, Outcome
from apps.payments import conf
from apps.payments.providers.stripe import SignatureInvalid, verify_webhook_signature

PROVIDER = "stripe"
SECRET_KEYS = ("webhook_secret", "webhook_secret_previous")


def connection_webhook_secrets(connection: IntegrationConnection) -> list[str]:
    credentials = connection.credentials or {}
    return [str(credentials[k]) for k in SECRET_KEYS if credentials.get(k)]


def _bad_request(message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=400)


@csrf_exempt
@require_POST
def stripe_webhook(request: HttpRequest, connection_id: int | None = None) -> JsonResponse:
    started = time.monotonic()
    payload = request.body
    connection = None
    if connection_id is not None:
        connection = IntegrationConnection.objects.filter(
            pk=connection_id, provider=PROVIDER
        ).first()
        # Unknown id and bad signature answer alike, so ids cannot be probed.
        secrets = connection_webhook_secrets(connection) if connection else []
    else:
        secrets = conf.platform_webhook_secrets()
    try:
        verify_webhook_signature(
            payload=payload,
            header=request.headers.get("Stripe-Signature"),
            secrets=secrets,
            tolerance=conf.webhook_tolerance_s(),
        )
    except SignatureInvalid as exc:
        if connection is not None:
            activity_record(
                connection=connection,
                kind=ActivityKind.WEBHOOK,
                operation="stripe webhook",
                outcome=Outcome.REJECTED,
                status_code=400,
                error_message=str(exc),
            )
        return _bad_request(str(exc))
    try:
        envelope = json.loads(payload)
        event_id, event_type = envelope["id"], envelope["type"]
        if not (isinstance(event_id, str) and event_id and isinstance(event_type, str)):
            raise ValueError
    except (ValueError, KeyError, TypeError):
        return _bad_request("The body is not a Stripe event (it needs an id and a type).")
    if connection is None and isinstance(envelope.get("account"), str):
        connection = IntegrationConnection.objects.filter(
            provider=PROVIDER, external_account_id=envelope["account"]
        ).first()
    # The event's id is unique in the inbox: a redelivery is answered 200 and not processed twice.
    with transaction.atomic():  # one commit (one fsync) for the event and its activity row
        _event, created = inbound_event_receive(
            provider=PROVIDER,
            provider_event_id=event_id,
            body=payload.decode("utf-8"),
            headers=request.headers,
            event_type=event_type,
            connection=connection,
        )
        if connection is not None:
            activity_record(
                connection=connection,
                kind=ActivityKind.WEBHOOK,
                operation=f"stripe {event_type}",
                outcome=Outcome.SUCCESS,
                status_code=200,
                duration_ms=int((time.monotonic() - started) * 1000),
            )
    return JsonResponse({"received": True, "duplicate": not created})
