"""The webhook inbox (after dj-stripe's WebhookEventTrigger and Event.process).

A vendor webhook view verifies the signature, then calls inbound_event_receive() and answers at
once; the event is processed in a worker by the handler registered for its provider. The unique
(provider, provider_event_id) constraint absorbs redeliveries; failures stay on the row, and
`manage.py replay_inbound_events` (or the admin action) runs them again.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Mapping
from functools import partial

import structlog
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.integrations.activity import activity_record
from apps.integrations.errors import EventRefused
from apps.integrations.models import ActivityKind, InboundEvent, IntegrationConnection, Outcome

logger = structlog.get_logger(__name__)

Handler = Callable[[InboundEvent], None]
_handlers: dict[str, Handler] = {}

# Never stored: they authenticate the caller rather than describe the event.
_DROPPED_HEADERS = {"authorization", "cookie", "proxy-authorization", "x-api-key"}


def register_handler(provider: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        _handlers[provider] = handler
        return handler

    return register


def unregister_handler(provider: str) -> None:
    _handlers.pop(provider, None)


def storable_headers(headers: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() not in _DROPPED_HEADERS}


def inbound_event_receive(
    *,
    provider: str,
    provider_event_id: str,
    body: str,
    headers: Mapping[str, str] | None = None,
    event_type: str = "",
    business_id: int | None = None,
    connection: IntegrationConnection | None = None,
) -> tuple[InboundEvent, bool]:
    """Store a verified event once. Returns (event, created); a duplicate is not enqueued again."""
    try:
        with transaction.atomic():
            event = InboundEvent.objects.create(
                provider=provider,
                provider_event_id=provider_event_id[:255],
                event_type=event_type[:100],
                business_id=business_id or (connection.business_id if connection else None),
                connection=connection,
                headers=storable_headers(headers or {}),
                body=body,
            )
    except IntegrityError:
        existing = InboundEvent.objects.get(
            provider=provider, provider_event_id=provider_event_id[:255]
        )
        logger.info(
            "inbound_event_duplicate", provider=provider, provider_event_id=provider_event_id
        )
        return existing, False
    from apps.integrations.tasks import inbound_event_process_task

    transaction.on_commit(partial(inbound_event_process_task.delay, event.pk))
    return event, True


def inbound_event_process(*, event_id: int, force: bool = False) -> InboundEvent:
    """Run the provider's handler once per event. Safe to call twice: a processed event is skipped."""
    with transaction.atomic():
        event = InboundEvent.objects.select_for_update().get(pk=event_id)
        if event.status == InboundEvent.Status.PROCESSED and not force:
            return event
        handler = _handlers.get(event.provider)
        event.attempts += 1
        if handler is None:
            event.status, event.error = (
                InboundEvent.Status.IGNORED,
                f"No handler for {event.provider} events.",
            )
            event.save(update_fields=["status", "error", "attempts"])
            return event
        try:
            with transaction.atomic():  # a failing handler rolls back its own writes only
                handler(event)
        except EventRefused as exc:
            _refused(event, exc)
        except Exception as exc:
            event.status = InboundEvent.Status.FAILED
            event.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}"[:4000]
            logger.warning(
                "inbound_event_failed", event_id=event.pk, provider=event.provider, error=str(exc)
            )
        else:
            event.status, event.error, event.processed_at = (
                InboundEvent.Status.PROCESSED,
                "",
                timezone.now(),
            )
        event.save(update_fields=["status", "error", "attempts", "processed_at"])
        return event


def _refused(event: InboundEvent, exc: EventRefused) -> None:
    """Never applied and not retried: the row says why, the connection counts a rejection."""
    connection = exc.connection or event.connection
    event.status, event.error = InboundEvent.Status.REFUSED, str(exc)[:4000]
    if connection is not None and event.connection_id is None:
        # Routed (e.g. by Stripe's `account`) before being refused: show it to that business.
        event.connection, event.business_id = connection, connection.business_id
        InboundEvent.objects.filter(pk=event.pk).update(
            connection=connection, business_id=connection.business_id
        )
    if connection is not None:
        activity_record(
            connection=connection,
            kind=ActivityKind.WEBHOOK,
            operation=f"{event.provider} {event.event_type} refused",
            outcome=Outcome.REJECTED,
            error_message=str(exc),
        )
    logger.warning(
        "inbound_event_refused",
        event_id=event.pk,
        provider=event.provider,
        connection_id=connection.pk if connection else None,
        reason=str(exc)[:300],
    )


def inbound_event_replay(*, event: InboundEvent) -> InboundEvent:
    """Process again now (admin action, replay command); an already processed event is left alone."""
    return inbound_event_process(event_id=event.pk)
