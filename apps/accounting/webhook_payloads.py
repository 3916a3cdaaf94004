"""QuickBooks and Xero webhook payloads, parsed into typed events before anything uses them.

A malformed payload (wrong shapes anywhere: `events: 5`, `null`, a list of numbers, an entity
without its name) raises PayloadError, which the views answer with 400; nothing reads a field
with `.get()` on something that might not be a dict.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any


class PayloadError(ValueError):
    """Not a webhook payload of this vendor."""


def _digest(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:48]


def _dict(value: Any, what: str) -> dict:
    if not isinstance(value, dict):
        raise PayloadError(f"{what} is not an object.")
    return value


def _list(value: Any, what: str) -> list:
    if not isinstance(value, list):
        raise PayloadError(f"{what} is not a list.")
    return value


def _text(data: dict, key: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise PayloadError(f"'{key}' is missing.")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise PayloadError(f"'{key}' is not text.")
    return str(value)


@dataclasses.dataclass(frozen=True)
class QboEvent:
    event_id: str
    realm: str
    entity: str  # lower case: customer, invoice, payment...
    entity_id: str
    operation: str
    occurred_at: str
    raw: dict


def _cloud_event(item: Any) -> QboEvent:
    item = _dict(item, "A CloudEvent")
    kind = _text(item, "type").split(".")  # qbo.invoice.created.v1
    if len(kind) < 3:
        raise PayloadError("A CloudEvent's type is not qbo.<entity>.<operation>.")
    return QboEvent(
        event_id=_text(item, "id"),
        realm=_text(item, "intuitaccountid"),
        entity=kind[1].lower(),
        entity_id=_text(item, "intuitentityid", required=False),
        operation=kind[2].lower(),
        occurred_at=_text(item, "time", required=False),
        raw=item,
    )


def _legacy_events(payload: dict) -> list[QboEvent]:
    events = []
    for notification in _list(payload["eventNotifications"], "eventNotifications"):
        notification = _dict(notification, "An event notification")
        realm = _text(notification, "realmId")
        change = _dict(notification.get("dataChangeEvent") or {}, "dataChangeEvent")
        for entity in _list(change.get("entities") or [], "dataChangeEvent.entities"):
            entity = _dict(entity, "An entity")
            name, entity_id = _text(entity, "name"), _text(entity, "id")
            operation = _text(entity, "operation")
            updated = _text(entity, "lastUpdated", required=False)
            events.append(
                QboEvent(
                    # Legacy notifications carry no id; these fields identify one.
                    event_id=f"legacy:{_digest(realm, name, entity_id, operation, updated)}",
                    realm=realm,
                    entity=name.lower(),
                    entity_id=entity_id,
                    operation=operation.lower(),
                    occurred_at=updated,
                    raw={**entity, "realmId": realm},
                )
            )
    return events


def parse_qbo_events(payload: Any) -> list[QboEvent]:
    """CloudEvents (a JSON array) or the legacy eventNotifications object; PayloadError otherwise."""
    if isinstance(payload, list):
        return [_cloud_event(item) for item in payload]
    if isinstance(payload, dict) and "eventNotifications" in payload:
        return _legacy_events(payload)
    raise PayloadError("Not a QuickBooks webhook payload.")


def parse_stored_qbo_event(data: Any) -> QboEvent:
    """One event as the inbox stored it: a CloudEvent, or a legacy entity with its realm."""
    data = _dict(data, "A stored QuickBooks event")
    if "specversion" in data:
        return _cloud_event(data)
    return QboEvent(
        event_id="",
        realm=_text(data, "realmId"),
        entity=_text(data, "name").lower(),
        entity_id=_text(data, "id", required=False),
        operation=_text(data, "operation", required=False).lower(),
        occurred_at=_text(data, "lastUpdated", required=False),
        raw=data,
    )


@dataclasses.dataclass(frozen=True)
class XeroEvent:
    tenant_id: str
    resource_id: str
    category: str  # upper case: CONTACT, INVOICE
    type: str  # upper case: CREATE, UPDATE
    occurred_at: str
    raw: dict

    @property
    def event_id(self) -> str:
        """Xero events carry no id; these fields identify one (a redelivery repeats them)."""
        return "xero:" + _digest(
            self.tenant_id, self.resource_id, self.category, self.type, self.occurred_at
        )


def parse_xero_event(item: Any) -> XeroEvent:
    item = _dict(item, "A Xero event")
    return XeroEvent(
        tenant_id=_text(item, "tenantId"),
        resource_id=_text(item, "resourceId"),
        category=_text(item, "eventCategory").upper(),
        type=_text(item, "eventType").upper(),
        occurred_at=_text(item, "eventDateUtc", required=False),
        raw=item,
    )


def parse_xero_events(payload: Any) -> list[XeroEvent]:
    """{"events": [...], ...}; the intent-to-receive check sends an empty list."""
    payload = _dict(payload, "A Xero webhook payload")
    if "events" not in payload:
        raise PayloadError("A Xero webhook payload needs 'events'.")
    return [parse_xero_event(item) for item in _list(payload["events"], "events")]
