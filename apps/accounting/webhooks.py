"""Inbound webhooks from QuickBooks and Xero: verify, store in the inbox, answer at once.

Both vendors sign the raw body: base64(HMAC-SHA256(key, body)) in `intuit-signature` (key: the
app's verifier token) and `x-xero-signature` (key: the webhook key). Xero's "intent to receive"
check sends bodies signed right and wrong and expects 200 with an empty body, or 401. Intuit
expects an answer within 3 s and Xero within 5 s, so nothing is fetched here: a worker handles
each stored event by requesting a sync of the resource it names, which reads the vendor's current
state through change data capture. That makes duplicates harmless (the inbox drops them by id)
and out-of-order deliveries harmless (an old event just triggers a read of today's state).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
from collections.abc import Iterable

import structlog
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.accounting import conf
from apps.integrations.inbox import inbound_event_receive, register_handler
from apps.integrations.models import InboundEvent, IntegrationConnection, ProviderKey, SyncLog

logger = structlog.get_logger(__name__)

QBO_RESOURCES = {"customer": ["customers"], "invoice": ["invoices"], "payment": ["payments"]}
XERO_RESOURCES = {"CONTACT": ["customers"], "INVOICE": ["invoices", "payments"]}


def signature_valid(raw: bytes, header: str, keys: Iterable[str]) -> bool:
    for key in keys:
        if not key:
            continue
        expected = base64.b64encode(hmac.new(key.encode(), raw, hashlib.sha256).digest()).decode()
        if hmac.compare_digest(expected, (header or "").strip()):
            return True
    return False


@dataclasses.dataclass(frozen=True)
class QboEvent:
    event_id: str
    realm: str
    entity: str  # lower case: customer, invoice, payment...
    entity_id: str
    operation: str
    occurred_at: str
    raw: dict


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:48]


def parse_qbo_events(payload: object) -> list[QboEvent]:
    """CloudEvents (a JSON array) or the legacy eventNotifications object; ValueError otherwise."""
    events = []
    if isinstance(payload, list):
        for item in payload:
            if not isinstance(item, dict) or not item.get("id") or "type" not in item:
                raise ValueError("A CloudEvent needs an id and a type.")
            kind = str(item["type"]).split(".")  # qbo.invoice.created.v1
            if len(kind) < 3:
                raise ValueError(f"Unexpected event type {item['type']!r}.")
            events.append(
                QboEvent(
                    event_id=str(item["id"]),
                    realm=str(item.get("intuitaccountid", "")),
                    entity=kind[1].lower(),
                    entity_id=str(item.get("intuitentityid", "")),
                    operation=kind[2].lower(),
                    occurred_at=str(item.get("time", "")),
                    raw=item,
                )
            )
        return events
    if isinstance(payload, dict) and isinstance(payload.get("eventNotifications"), list):
        for notification in payload["eventNotifications"]:
            realm = str(notification.get("realmId", ""))
            for entity in (notification.get("dataChangeEvent") or {}).get("entities", []):
                parts = [
                    realm,
                    str(entity.get("name")),
                    str(entity.get("id")),
                    str(entity.get("operation")),
                    str(entity.get("lastUpdated")),
                ]
                events.append(
                    QboEvent(
                        event_id=f"legacy:{_digest(*parts)}",
                        realm=realm,
                        entity=str(entity.get("name", "")).lower(),
                        entity_id=str(entity.get("id", "")),
                        operation=str(entity.get("operation", "")).lower(),
                        occurred_at=str(entity.get("lastUpdated", "")),
                        raw={"realmId": realm, **entity},
                    )
                )
        return events
    raise ValueError("Not a QuickBooks webhook payload.")


def _connections(provider: str, account_ids: Iterable[str]):
    return IntegrationConnection.objects.filter(
        provider=provider, external_account_id__in=set(account_ids)
    )


@csrf_exempt
@require_POST
def quickbooks_webhook(request: HttpRequest) -> HttpResponse:
    raw = request.body
    try:
        events = parse_qbo_events(json.loads(raw))
    except ValueError:
        events = None
    connections = list(_connections(ProviderKey.QUICKBOOKS, [e.realm for e in events or []]))
    keys = [conf.setting("QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN")]
    keys += [(c.credentials or {}).get("webhook_verifier_token", "") for c in connections]
    if not signature_valid(raw, request.headers.get("intuit-signature", ""), keys):
        return HttpResponse("Invalid signature.", status=401, content_type="text/plain")
    if events is None:
        return HttpResponse(
            "Not a QuickBooks webhook payload.", status=400, content_type="text/plain"
        )
    by_realm = {c.external_account_id: c for c in connections}
    for event in events:
        inbound_event_receive(
            provider=ProviderKey.QUICKBOOKS,
            provider_event_id=event.event_id,
            body=json.dumps(event.raw),
            headers=dict(request.headers),
            event_type=f"{event.entity}.{event.operation}",
            connection=by_realm.get(event.realm),
        )
    return HttpResponse(status=200)


def xero_event_id(event: dict) -> str:
    """Xero events carry no id; these fields identify one (a redelivery repeats them)."""
    return "xero:" + _digest(
        *(
            str(event.get(k, ""))
            for k in ("tenantId", "resourceId", "eventCategory", "eventType", "eventDateUtc")
        )
    )


@csrf_exempt
@require_POST
def xero_webhook(request: HttpRequest) -> HttpResponse:
    raw = request.body
    if not signature_valid(
        raw, request.headers.get("x-xero-signature", ""), [conf.setting("XERO_WEBHOOK_KEY")]
    ):
        return HttpResponse(status=401)  # also the intent-to-receive answer for a bad signature
    try:
        payload = json.loads(raw)
        events = [e for e in payload.get("events", []) if isinstance(e, dict)]
    except (ValueError, AttributeError):
        return HttpResponse(status=400)
    connections = {
        c.external_account_id: c
        for c in _connections(ProviderKey.XERO, [str(e.get("tenantId", "")) for e in events])
    }
    for event in events:
        inbound_event_receive(
            provider=ProviderKey.XERO,
            provider_event_id=xero_event_id(event),
            body=json.dumps(event),
            headers=dict(request.headers),
            event_type=f"{str(event.get('eventCategory', '')).lower()}.{str(event.get('eventType', '')).lower()}",
            connection=connections.get(str(event.get("tenantId", ""))),
        )
    return HttpResponse(status=200)  # empty body, as the intent-to-receive check requires


def _request_syncs(provider: str, account_id: str, resources: list[str]) -> int:
    from apps.accounting.services.sync import sync_request_coalesced

    queued = 0
    for connection in _connections(provider, [account_id]):
        queued += len(
            sync_request_coalesced(
                connection=connection, resources=resources, trigger=SyncLog.Trigger.WEBHOOK
            )
        )
    return queued


@register_handler(ProviderKey.QUICKBOOKS)
def process_quickbooks_event(event: InboundEvent) -> None:
    parsed = _stored_event(event.body)
    resources = QBO_RESOURCES.get(parsed.entity)
    if resources:
        _request_syncs(ProviderKey.QUICKBOOKS, parsed.realm, resources)


def _stored_event(body: str) -> QboEvent:
    """One stored event: a CloudEvent, or a legacy entity with its realm added."""
    data = json.loads(body)
    if "specversion" in data:
        return parse_qbo_events([data])[0]
    return QboEvent(
        event_id="",
        realm=str(data.get("realmId", "")),
        entity=str(data.get("name", "")).lower(),
        entity_id=str(data.get("id", "")),
        operation=str(data.get("operation", "")).lower(),
        occurred_at=str(data.get("lastUpdated", "")),
        raw=data,
    )


@register_handler(ProviderKey.XERO)
def process_xero_event(event: InboundEvent) -> None:
    data = json.loads(event.body)
    resources = XERO_RESOURCES.get(str(data.get("eventCategory", "")).upper())
    if resources:
        _request_syncs(ProviderKey.XERO, str(data.get("tenantId", "")), resources)
