"""Inbound webhooks from QuickBooks and Xero: verify, store in the inbox, answer at once.

Both vendors sign the raw body: base64(HMAC-SHA256(key, body)) in `intuit-signature` (key: the
app's verifier token) and `x-xero-signature` (key: the app's webhook key). A business that brings
its own Intuit or Xero app has its own key in the connection's credentials
(`webhook_verifier_token`, `webhook_key`); the app-wide setting signs for connections without one.

Signature scope: one payload may carry events for several companies (realms, tenants). Each
event is accepted only for a connection of the company it names whose key signed the payload;
an event for a company whose key did not sign it is refused (not stored, a rejected webhook
counted on that company's connections), and the rest of the payload is processed.

Xero's "intent to receive" check sends bodies signed right and wrong and expects 200 with an empty
body, or 401. Intuit expects an answer within 3 s and Xero within 5 s, so nothing is fetched here:
a worker handles each stored event by requesting a sync of the resource it names, which reads the
vendor's current state through change data capture. That makes duplicates harmless (the inbox
drops them by id) and out-of-order deliveries harmless (an old event just triggers a read of
today's state).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence

import structlog
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.accounting import conf
from apps.accounting.webhook_payloads import (
    parse_qbo_events,
    parse_stored_qbo_event,
    parse_xero_event,
    parse_xero_events,
)
from apps.integrations.activity import activity_record
from apps.integrations.inbox import inbound_event_receive, register_handler
from apps.integrations.models import (
    ActivityKind,
    InboundEvent,
    IntegrationConnection,
    Outcome,
    ProviderKey,
    SyncLog,
)

logger = structlog.get_logger(__name__)

QBO_RESOURCES = {"customer": ["customers"], "invoice": ["invoices"], "payment": ["payments"]}
XERO_RESOURCES = {"CONTACT": ["customers"], "INVOICE": ["invoices", "payments"]}
# The credential holding a connection's own webhook key (a business that brings its own app).
OWN_KEY = {ProviderKey.QUICKBOOKS: "webhook_verifier_token", ProviderKey.XERO: "webhook_key"}
APP_KEY = {
    ProviderKey.QUICKBOOKS: "QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN",
    ProviderKey.XERO: "XERO_WEBHOOK_KEY",
}


def signature_valid(raw: bytes, header: str, keys: Iterable[str]) -> bool:
    for key in keys:
        if not key:
            continue
        expected = base64.b64encode(hmac.new(key.encode(), raw, hashlib.sha256).digest()).decode()
        if hmac.compare_digest(expected.encode(), (header or "").strip().encode()):
            return True
    return False


def _own_key(connection: IntegrationConnection) -> str:
    return str((connection.credentials or {}).get(OWN_KEY[connection.provider]) or "")


def _connections(provider: str, account_ids: Iterable[str]) -> list[IntegrationConnection]:
    return list(
        IntegrationConnection.objects.filter(
            provider=provider, external_account_id__in=set(account_ids)
        ).order_by("pk")
    )


@dataclasses.dataclass(frozen=True)
class Signers:
    """Which keys signed a payload: the app's, and which connections' own."""

    app: bool
    connections: frozenset[int]

    @property
    def anyone(self) -> bool:
        return self.app or bool(self.connections)

    def accepts(self, connection: IntegrationConnection) -> bool:
        """The connection's key signed: its own, or the app's when it has none of its own."""
        own = _own_key(connection)
        return connection.pk in self.connections if own else self.app


def _signers(
    provider: str, raw: bytes, header: str, candidates: Sequence[IntegrationConnection]
) -> Signers:
    own = frozenset(
        c.pk for c in candidates if _own_key(c) and signature_valid(raw, header, [_own_key(c)])
    )
    return Signers(
        app=signature_valid(raw, header, [conf.setting(APP_KEY[provider])]), connections=own
    )


@dataclasses.dataclass(frozen=True)
class Routed:
    """One event's fate: the connection it is stored for (None: unknown company, app-signed),
    or refused."""

    connection: IntegrationConnection | None
    refused: bool


def _route(
    provider: str,
    account_id: str,
    connections: Sequence[IntegrationConnection],
    signers: Signers,
    *,
    event_id: str,
) -> Routed:
    named = [c for c in connections if c.external_account_id == account_id]
    accepted = [c for c in named if signers.accepts(c)]
    if accepted:
        # Two connections claiming one company both sync it: stored unrouted, the worker picks
        # the company's connections the app key speaks for (see _connections_to_sync).
        return Routed(connection=accepted[0] if len(accepted) == 1 else None, refused=False)
    if not named and signers.app:
        return Routed(connection=None, refused=False)  # not connected (yet): harmless to keep
    message = (
        f"A {provider} webhook event for company {account_id} was not signed with that "
        "company's key; refused."
    )
    for connection in named:
        activity_record(
            connection=connection,
            kind=ActivityKind.WEBHOOK,
            operation=f"{provider} webhook refused",
            outcome=Outcome.REJECTED,
            status_code=401,
            error_message=message,
        )
    logger.warning(
        "webhook_event_refused", provider=provider, account_id=account_id, event_id=event_id
    )
    return Routed(connection=None, refused=True)


def _answer(*, stored: int, refused: int) -> HttpResponse:
    if refused and not stored:
        return HttpResponse(status=401)
    return HttpResponse(status=200)  # empty body, as Xero's intent-to-receive check requires


@csrf_exempt
@require_POST
def quickbooks_webhook(request: HttpRequest) -> HttpResponse:
    raw = request.body
    header = request.headers.get("intuit-signature", "")
    try:
        events = parse_qbo_events(json.loads(raw))
    except (ValueError, RecursionError):  # JSON errors and PayloadError are ValueErrors
        events = None
    connections = _connections(ProviderKey.QUICKBOOKS, [e.realm for e in events or []])
    signers = _signers(ProviderKey.QUICKBOOKS, raw, header, connections)
    if not signers.anyone:
        return HttpResponse("Invalid signature.", status=401, content_type="text/plain")
    if events is None:
        return HttpResponse(
            "Not a QuickBooks webhook payload.", status=400, content_type="text/plain"
        )
    stored = refused = 0
    for event in events:
        routed = _route(
            ProviderKey.QUICKBOOKS, event.realm, connections, signers, event_id=event.event_id
        )
        if routed.refused:
            refused += 1
            continue
        inbound_event_receive(
            provider=ProviderKey.QUICKBOOKS,
            provider_event_id=event.event_id,
            body=json.dumps(event.raw),
            headers=dict(request.headers),
            event_type=f"{event.entity}.{event.operation}",
            connection=routed.connection,
        )
        stored += 1
    return _answer(stored=stored, refused=refused)


@csrf_exempt
@require_POST
def xero_webhook(request: HttpRequest) -> HttpResponse:
    raw = request.body
    header = request.headers.get("x-xero-signature", "")
    try:
        events = parse_xero_events(json.loads(raw))
    except (ValueError, RecursionError):
        events = None
    if events:
        candidates = _connections(ProviderKey.XERO, [e.tenant_id for e in events])
    else:
        # The intent-to-receive check (no events) may come from a business's own Xero app.
        candidates = [
            c
            for c in IntegrationConnection.objects.filter(provider=ProviderKey.XERO)
            if _own_key(c)
        ]
    signers = _signers(ProviderKey.XERO, raw, header, candidates)
    if not signers.anyone:
        return HttpResponse(status=401)  # also the intent-to-receive answer for a bad signature
    if events is None:
        return HttpResponse(status=400)
    stored = refused = 0
    for event in events:
        routed = _route(
            ProviderKey.XERO, event.tenant_id, candidates, signers, event_id=event.event_id
        )
        if routed.refused:
            refused += 1
            continue
        inbound_event_receive(
            provider=ProviderKey.XERO,
            provider_event_id=event.event_id,
            body=json.dumps(event.raw),
            headers=dict(request.headers),
            event_type=f"{event.category.lower()}.{event.type.lower()}",
            connection=routed.connection,
        )
        stored += 1
    return _answer(stored=stored, refused=refused)


def _connections_to_sync(event: InboundEvent, account_id: str) -> list[IntegrationConnection]:
    """The connections the stored event was authenticated for, still on the same company."""
    if event.connection is not None:
        connection = event.connection
        return [connection] if connection.external_account_id == account_id else []
    # Stored unrouted: the app's key signed it, so it speaks for connections without their own.
    return [c for c in _connections(event.provider, [account_id]) if not _own_key(c)]


def _request_syncs(event: InboundEvent, account_id: str, resources: list[str]) -> int:
    from apps.accounting.services.sync import sync_request_coalesced

    queued = 0
    for connection in _connections_to_sync(event, account_id):
        queued += len(
            sync_request_coalesced(
                connection=connection, resources=resources, trigger=SyncLog.Trigger.WEBHOOK
            )
        )
    return queued


@register_handler(ProviderKey.QUICKBOOKS)
def process_quickbooks_event(event: InboundEvent) -> None:
    parsed = parse_stored_qbo_event(json.loads(event.body))
    resources = QBO_RESOURCES.get(parsed.entity)
    if resources:
        _request_syncs(event, parsed.realm, resources)


@register_handler(ProviderKey.XERO)
def process_xero_event(event: InboundEvent) -> None:
    parsed = parse_xero_event(json.loads(event.body))
    resources = XERO_RESOURCES.get(parsed.category)
    if resources:
        _request_syncs(event, parsed.tenant_id, resources)
