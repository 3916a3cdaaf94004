"""The worker side of the webhook inbox: process pending Stripe events, oldest first.

The inbox's pending rows are the durable queue. The web side does not publish one Celery message
per event; it nudges a drain (apps.payments.webhooks.nudge, at most twice per interval per
process) and a periodic sweep runs the same drain, so an event whose nudge was lost (broker down,
worker killed) waits at most one sweep interval. Each event is claimed with FOR UPDATE SKIP
LOCKED, so concurrent drains share the backlog instead of queueing behind each other's locks,
and processed by the inbox's own inbound_event_process (exactly once per event).
"""

from __future__ import annotations

import time

from django.db import transaction

from apps.integrations.inbox import inbound_event_process
from apps.integrations.models import InboundEvent

PROVIDER = "stripe"


def _claim_next() -> int | None:
    return (
        InboundEvent.objects.select_for_update(skip_locked=True)
        .filter(provider=PROVIDER, status=InboundEvent.Status.PENDING)
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )


def drain_all(*, time_budget_s: float | None = None) -> int:
    """Process pending Stripe events until none is left (or the budget is spent); returns how many.

    Each event runs in its own transaction, holding its row lock, so a crash loses nothing: the
    row stays pending for the next drain. A failing handler leaves its row `failed` (replayable),
    not pending, so the loop cannot spin on it.
    """
    deadline = None if time_budget_s is None else time.monotonic() + time_budget_s
    done = 0
    while deadline is None or time.monotonic() < deadline:
        with transaction.atomic():
            pk = _claim_next()
            if pk is None:
                break
            inbound_event_process(event_id=pk)
        done += 1
    return done


def pending_count() -> int:
    return InboundEvent.objects.filter(
        provider=PROVIDER, status=InboundEvent.Status.PENDING
    ).count()
