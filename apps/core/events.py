"""Domain events, published after the transaction commits.

Other apps subscribe (comms texts on "en route", accounting pushes the invoice on "completed",
routing re-plans on "cancelled"). A subscriber must be quick: it enqueues a Celery task with ids
only. Because publishing waits for the commit, a rolled-back change never notifies anyone, and a
failing subscriber is logged without stopping the others or undoing the committed change.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

import structlog
from django.db import transaction

logger = structlog.get_logger(__name__)

E = TypeVar("E")
_subscribers: dict[type, list[Callable[[Any], None]]] = defaultdict(list)
_suppressed: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "events_suppressed", default=False
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class WorkOrderCreated:
    business_id: int
    work_order_id: int
    priority: str
    created_by_id: int | None
    occurred_at: dt.datetime


@dataclasses.dataclass(frozen=True, kw_only=True)
class WorkOrderStatusChanged:
    business_id: int
    work_order_id: int
    from_status: str
    to_status: str
    changed_by_id: int | None
    occurred_at: dt.datetime


@dataclasses.dataclass(frozen=True, kw_only=True)
class WorkOrderAssigned:
    business_id: int
    work_order_id: int
    technician_id: int | None
    previous_technician_id: int | None
    occurred_at: dt.datetime


@dataclasses.dataclass(frozen=True, kw_only=True)
class PaymentRecorded:
    business_id: int
    payment_id: int
    invoice_id: int | None
    occurred_at: dt.datetime


@dataclasses.dataclass(frozen=True, kw_only=True)
class WorkOrderWindowChanged:
    """The promised arrival window moved (None: cleared). Published only on a real change."""

    business_id: int
    work_order_id: int
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    previous_window_start: dt.datetime | None
    previous_window_end: dt.datetime | None
    changed_by_id: int | None
    occurred_at: dt.datetime


@dataclasses.dataclass(frozen=True, kw_only=True)
class WorkOrderLocationChanged:
    """The job moved to another service location. Published only on a real change."""

    business_id: int
    work_order_id: int
    location_id: int
    previous_location_id: int
    changed_by_id: int | None
    occurred_at: dt.datetime


@dataclasses.dataclass(frozen=True, kw_only=True)
class RefundRecorded:
    """Money went back to the customer (Stripe, cash, check); the invoice's paid amount fell."""

    business_id: int
    refund_id: int
    payment_id: int
    invoice_id: int | None
    amount: Decimal
    currency: str
    occurred_at: dt.datetime


@dataclasses.dataclass(frozen=True, kw_only=True)
class InvoiceChanged:
    """change is one of INVOICE_CHANGES: "issued", "updated" (lines or amounts) or "voided"."""

    business_id: int
    invoice_id: int
    change: str
    occurred_at: dt.datetime


INVOICE_CHANGES = frozenset({"issued", "updated", "voided"})


@dataclasses.dataclass(frozen=True, kw_only=True)
class BusinessTimezoneChanged:
    """The business now keeps another local time (schedules that read it must follow)."""

    business_id: int
    timezone: str
    previous_timezone: str
    occurred_at: dt.datetime


@dataclasses.dataclass(frozen=True, kw_only=True)
class WorkOrderLineChanged:
    """A part, labour or fee line of an open work order; change is one of LINE_CHANGES."""

    business_id: int
    work_order_id: int
    line_id: int
    change: str
    changed_by_id: int | None
    occurred_at: dt.datetime


LINE_CHANGES = frozenset({"added", "updated", "removed"})


def subscribe(event_type: type[E]) -> Callable[[Callable[[E], None]], Callable[[E], None]]:
    """Decorator: call the function with every event of this type, after commit."""

    def register(handler: Callable[[E], None]) -> Callable[[E], None]:
        if handler not in _subscribers[event_type]:
            _subscribers[event_type].append(handler)
        return handler

    return register


def unsubscribe(event_type: type, handler: Callable[[Any], None]) -> None:
    if handler in _subscribers[event_type]:
        _subscribers[event_type].remove(handler)


def publish_on_commit(event: object) -> None:
    if _suppressed.get():
        return
    transaction.on_commit(lambda: _deliver(event))


@contextlib.contextmanager
def suppressed() -> Iterator[None]:
    """Publish nothing inside: demo seeding and backfills write history, not news.

    Without it, seeding would text customers and push invoices for work that never happened.
    """
    token = _suppressed.set(True)
    try:
        yield
    finally:
        _suppressed.reset(token)


def _deliver(event: object) -> None:
    for handler in list(_subscribers[type(event)]):
        try:
            handler(event)
        except Exception:
            # Not `event=`: structlog takes the log message under that name.
            logger.exception(
                "event_subscriber_failed",
                event_type=type(event).__name__,
                handler=handler.__qualname__,
            )
