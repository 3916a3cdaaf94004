"""Store a verified Stripe event in the inbox in one statement (the webhook's only write).

`INSERT ... ON CONFLICT (provider, provider_event_id) DO NOTHING RETURNING id`, with the
connection's activity row inserted by the same statement (a data-modifying CTE): one round trip,
one autocommit, no SELECT-then-INSERT, no savepoint. Rows match what
apps.integrations.inbox.inbound_event_receive stores, so the inbox's processing, admin and replay
work unchanged; only the per-event Celery publish is replaced by a coalesced drain nudge.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from django.db import connection as db
from django.db import transaction
from django.utils import timezone

from apps.integrations.inbox import storable_headers
from apps.integrations.models import ActivityKind, InboundEvent, IntegrationActivity, Outcome

PROVIDER = "stripe"


def _columns(model, names: list[str]) -> str:
    return ", ".join(db.ops.quote_name(model._meta.get_field(n).column) for n in names)


_EVENT_FIELDS = [
    "provider",
    "provider_event_id",
    "event_type",
    "business",
    "connection",
    "headers",
    "body",
    "status",
    "received_at",
    "attempts",
    "error",
]
_ACTIVITY_FIELDS = [
    "business",
    "connection",
    "kind",
    "operation",
    "outcome",
    "status_code",
    "duration_ms",
    "error_message",
    "occurred_at",
]
_sql: dict[bool, str] = {}


def _statement(with_activity: bool) -> str:
    # Only identifiers from the models' own metadata are interpolated; values are parameters.
    if with_activity not in _sql:
        event_table = db.ops.quote_name(InboundEvent._meta.db_table)
        insert = (
            f"INSERT INTO {event_table} ({_columns(InboundEvent, _EVENT_FIELDS)}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(_EVENT_FIELDS))}) "
            "ON CONFLICT (provider, provider_event_id) DO NOTHING RETURNING id"
        )
        if with_activity:
            activity_table = db.ops.quote_name(IntegrationActivity._meta.db_table)
            insert = (
                f"WITH event AS ({insert}), activity AS ("  # noqa: S608
                f"INSERT INTO {activity_table} ({_columns(IntegrationActivity, _ACTIVITY_FIELDS)}) "
                f"VALUES ({', '.join(['%s'] * len(_ACTIVITY_FIELDS))})) SELECT id FROM event"
            )
        _sql[with_activity] = insert
    return _sql[with_activity]


def inbox_store(
    *,
    event_id: str,
    event_type: str,
    body: str,
    headers: Mapping[str, str],
    business_id: int | None,
    connection_id: int | None,
    duration_ms: int = 0,
) -> bool:
    """Store the event unless its id is already there; True when this call stored it.

    Committed when it returns (autocommit; the caller must not be inside an atomic block that
    could still roll back, or "stored first" would not hold).
    """
    now = timezone.now()
    params: list = [
        PROVIDER,
        event_id[:255],
        event_type[:100],
        business_id,
        connection_id,
        json.dumps(storable_headers(headers)),
        body,
        InboundEvent.Status.PENDING,
        now,
        0,
        "",
    ]
    with_activity = connection_id is not None and business_id is not None
    if with_activity:
        params += [
            business_id,
            connection_id,
            ActivityKind.WEBHOOK,
            f"stripe {event_type}"[:120],
            Outcome.SUCCESS,
            200,
            max(0, duration_ms),
            "",
            now,
        ]
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute(_statement(with_activity), params)
            return cursor.fetchone() is not None
    # SQLite (the embedded default) has no data-modifying CTE: the same two inserts, in one
    # transaction, so the activity row is counted only with the event it belongs to.
    event_params, activity_params = params[: len(_EVENT_FIELDS)], params[len(_EVENT_FIELDS) :]
    with transaction.atomic(), db.cursor() as cursor:
        cursor.execute(_statement(False), event_params)
        stored = cursor.fetchone() is not None
        if with_activity:
            cursor.execute(_activity_statement(), activity_params)
        return stored


def _activity_statement() -> str:
    activity_table = db.ops.quote_name(IntegrationActivity._meta.db_table)
    return (
        f"INSERT INTO {activity_table} ({_columns(IntegrationActivity, _ACTIVITY_FIELDS)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(_ACTIVITY_FIELDS))})"
    )
