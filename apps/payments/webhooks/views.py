"""POST /webhooks/stripe[/<connection id>]: verify, store in the inbox, answer at once.

Nothing here calls Stripe: the signature is checked with the SDK on the raw body (300 s
tolerance; the current and the previous signing secret are both accepted during a rotation), the
raw body goes into the inbox under its unique event id in one INSERT ... ON CONFLICT DO NOTHING,
and a worker processes it (a coalesced drain nudge, not one Celery message per event). A bad or
stale signature answers 400 and stores nothing processable (only an activity row counting the
rejection, for monitoring).

Per-connection URLs serve businesses with their own Stripe account (the endpoint's secret lives in
the connection's encrypted credentials); the bare URL serves a Connect platform whose events carry
`account`, with secrets from PAYMENTS_STRIPE_PLATFORM_WEBHOOK_SECRETS. An account claimed by more
than one connection routes to none (the worker refuses the event).

The hot path is small on purpose (see docs/payments.md, Benchmark): the connection's decrypted
secrets are cached per process for a few seconds, only the envelope's id and type are read, and
apps.payments.webhooks.middleware answers these URLs before the session, auth, CSRF, messages
and request-logging middleware run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from apps.integrations.activity import activity_record
from apps.integrations.models import ActivityKind, IntegrationConnection, Outcome
from apps.payments import conf
from apps.payments.providers.stripe import SignatureInvalid, verify_webhook_signature
from apps.payments.services.common import stripe_connections_for_account
from apps.payments.webhooks.nudge import drain_nudge
from apps.payments.webhooks.store import inbox_store

PROVIDER = "stripe"
SECRET_KEYS = ("webhook_secret", "webhook_secret_previous")
_STORED = b'{"received": true, "duplicate": false}'
_DUPLICATE = b'{"received": true, "duplicate": true}'


def connection_webhook_secrets(connection: IntegrationConnection) -> list[str]:
    credentials = connection.credentials or {}
    return [str(credentials[k]) for k in SECRET_KEYS if credentials.get(k)]


class _Endpoint:
    """What the hot path needs of a connection, without its model instance."""

    __slots__ = ("business_id", "connection_id", "expires", "secrets")

    def __init__(self, connection: IntegrationConnection | None):
        self.connection_id = connection.pk if connection else None
        self.business_id = connection.business_id if connection else None
        self.secrets = connection_webhook_secrets(connection) if connection else []
        self.expires = time.monotonic() + conf.webhook_secret_cache_s()


_endpoints: dict[tuple[str, object], _Endpoint] = {}


def _endpoint(key: tuple[str, object], *, fresh: bool = False) -> _Endpoint:
    cached = _endpoints.get(key)
    if cached is not None and not fresh and cached.expires > time.monotonic():
        return cached
    kind, value = key
    if kind == "pk":
        connection = IntegrationConnection.objects.filter(provider=PROVIDER, pk=value).first()
    else:
        # An account claimed by two connections routes to neither (the worker refuses it).
        claims = stripe_connections_for_account(str(value))
        connection = claims[0] if len(claims) == 1 else None
    endpoint = _Endpoint(connection)
    if connection is not None:  # unknown ids are not cached, so probing cannot fill memory
        _endpoints[key] = endpoint
    else:
        _endpoints.pop(key, None)
    return endpoint


def endpoint_cache_clear(**_signal_kwargs) -> None:
    """Connected to IntegrationConnection's post_save / post_delete (apps.py): a change made in
    this process applies at once; other processes see it when their entry expires."""
    _endpoints.clear()


def _answer(status: int, body: bytes) -> HttpResponse:
    # Content-Length set here: the middleware that would add it is skipped for webhooks, and
    # without it the server falls back to chunked encoding.
    return HttpResponse(
        body,
        status=status,
        content_type="application/json",
        headers={"Content-Length": str(len(body))},
    )


def _bad_request(message: str) -> HttpResponse:
    return _answer(400, json.dumps({"error": message}).encode())


def _verify(payload: str, header: str | None, secrets: list[str]) -> None:
    verify_webhook_signature(
        payload=payload, header=header, secrets=secrets, tolerance=conf.webhook_tolerance_s()
    )


def stripe_webhook_receive(
    *, connection_id: int | None, payload: bytes, headers: Mapping[str, str]
) -> HttpResponse:
    started = time.monotonic()
    signature = headers.get("Stripe-Signature")
    try:
        # Stripe sends UTF-8 JSON; the SDK would decode (and fail on) anything else itself.
        body = payload.decode("utf-8")
    except UnicodeDecodeError:
        return _bad_request("The body is not UTF-8 text, so it is not a Stripe event.")
    endpoint = None
    if connection_id is not None:
        endpoint = _endpoint(("pk", connection_id))
        try:
            _verify(body, signature, endpoint.secrets)
        except SignatureInvalid:
            # Maybe the secret was just rotated: check once more against fresh credentials.
            endpoint = _endpoint(("pk", connection_id), fresh=True)
            try:
                _verify(body, signature, endpoint.secrets)
            except SignatureInvalid as exc:
                return _rejected(endpoint.connection_id, exc)
    else:
        try:
            _verify(body, signature, conf.platform_webhook_secrets())
        except SignatureInvalid as exc:
            return _bad_request(str(exc))
    try:
        envelope = json.loads(body)
        event_id, event_type = envelope["id"], envelope["type"]
        if not (isinstance(event_id, str) and event_id and isinstance(event_type, str)):
            raise ValueError
        account = envelope.get("account") if connection_id is None else None
    except (ValueError, KeyError, TypeError, AttributeError):
        return _bad_request("The body is not a Stripe event (it needs an id and a type).")
    if isinstance(account, str) and account:
        endpoint = _endpoint(("account", account))
    # The event's id is unique in the inbox: a redelivery is answered 200 and not processed twice.
    created = inbox_store(
        event_id=event_id,
        event_type=event_type,
        body=body,
        headers=headers,
        business_id=endpoint.business_id if endpoint else None,
        connection_id=endpoint.connection_id if endpoint else None,
        duration_ms=int((time.monotonic() - started) * 1000),
    )
    if created:
        transaction.on_commit(drain_nudge)  # runs at once in autocommit, the normal case
    return _answer(200, _STORED if created else _DUPLICATE)


def _rejected(connection_id: int | None, exc: SignatureInvalid) -> HttpResponse:
    # Unknown id and bad signature answer alike, so ids cannot be probed.
    connection = (
        IntegrationConnection.objects.filter(pk=connection_id).first() if connection_id else None
    )
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


@csrf_exempt
def stripe_webhook(request: HttpRequest, connection_id: int | None = None) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST"})
    return stripe_webhook_receive(
        connection_id=connection_id, payload=request.body, headers=request.headers
    )
