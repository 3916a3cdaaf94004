"""Sending a hand-over of due texts in batches: checks once per batch, every number busy.

The beat dispatcher stamps the rows it hands to workers with one `enqueued_at`. The send task of
any such row claims a batch of that hand-over's still-pending customer texts (its own row first;
SKIP LOCKED, so racing tasks split them), checks each one at send time with what is loaded once
per batch (settings, template, consent records, quiet-hours decision per time zone, sender
pool), and marks the sendable ones "sending" with their log rows in one commit, before any HTTP
call. The texts then go to the lanes (services/lanes.py: one thread per sender number, paced by
its limiter); when a number's lane runs dry the task claims the next batch, until the hand-over
is done or the task's time budget is spent. Results are written back in bulk every half second.
A task that finds nothing pending (redelivered, or its row sent by a sibling's batch) returns.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

from django.db import transaction
from django.utils import timezone

from apps.comms.models import (
    Channel,
    CommsSettings,
    CommunicationLog,
    Direction,
    ScheduledMessage,
    SenderNumber,
    TemplateKind,
)
from apps.comms.rendering import Rendered, render, template_for
from apps.comms.services.consent import consent_records_for, sms_refusal_given
from apps.comms.services.lanes import Lanes
from apps.comms.services.quiet_hours import next_send_time
from apps.comms.services.senders import pool_pick, sender_pool
from apps.comms.services.sending import (
    VALIDITY_S,
    delivery_failed,
    finish,
    prepare,
    scheduled_message_send,
    sent_apply,
    status_callback_url,
)
from apps.core.models import Business
from apps.integrations.activity import connection_note_failure, outcome_of
from apps.integrations.errors import (
    AuthenticationError,
    ProviderError,
    RateLimited,
    RejectedError,
    TemporaryError,
)
from apps.integrations.models import ActivityKind, IntegrationActivity
from apps.integrations.providers import provider_for
from apps.integrations.redaction import redact

S = ScheduledMessage.Status
BATCH_SECONDS = 2  # a batch holds about this many seconds of the pool's capacity
MIN_BATCH, MAX_BATCH = 10, 200
FLUSH_EVERY_S = 0.5
# A task stops claiming after this long, so the worker process returns to its queue (where an
# emergency may be waiting) while other processes' tasks carry the hand-over on.
TASK_BUDGET_S = 20.0
QUEUE_BATCHES = 2  # at most this many batches queued in one process's lanes
# These go from their own numbers (emergency line, technician phones), one task each.
NOT_FROM_POOL = (
    TemplateKind.EMERGENCY_RESPONSE,
    TemplateKind.TECHNICIAN_DISPATCH,
    TemplateKind.TECHNICIAN_ROUTE,
)


@dataclasses.dataclass
class Item:
    msg: ScheduledMessage
    log: CommunicationLog
    rendered: Rendered
    sender: SenderNumber
    result: object = None
    error: Exception | None = None
    duration_ms: int = 0
    called: bool = False  # the HTTP request was made (an activity row is due)


def hand_over_send(*, scheduled_message_id: int) -> int:
    """Send a batch of this message's hand-over (the message itself first). Returns the number
    of messages claimed; 0 when nothing was left to do."""
    head = (
        ScheduledMessage.objects.filter(pk=scheduled_message_id)
        .values("business_id", "enqueued_at", "channel", "urgent", "audience", "kind", "status")
        .first()
    )
    if head is None:
        return 0
    batchable = (
        head["channel"] == Channel.SMS
        and not head["urgent"]
        and head["audience"] == ScheduledMessage.Audience.CUSTOMER
        and head["kind"] not in NOT_FROM_POOL
        and head["enqueued_at"] is not None
    )
    if not batchable:  # emails, urgent and technician texts: one at a time, at once
        scheduled_message_send(scheduled_message_id=scheduled_message_id)
        return 1
    if head["status"] != S.PENDING and not _pending(head).exists():
        return 0  # redelivered, or sent by a sibling's batch: one query, nothing loaded
    business = Business.objects.get(pk=head["business_id"])
    pool = sender_pool(business=business)
    if not pool:  # the single path records "no sender number" on the message
        scheduled_message_send(scheduled_message_id=scheduled_message_id)
        return 1
    capacity = sum(float(s.messages_per_second) for s in pool) * BATCH_SECONDS
    size = int(min(MAX_BATCH, max(MIN_BATCH, capacity)))
    return _send(business, pool, head, scheduled_message_id, size)


def _pending(head: dict):
    """The hand-over's customer texts from the pool that are still pending and due."""
    return ScheduledMessage.objects.filter(
        business_id=head["business_id"],
        enqueued_at=head["enqueued_at"],
        status=S.PENDING,
        channel=Channel.SMS,
        urgent=False,
        audience=ScheduledMessage.Audience.CUSTOMER,
        due_at__lte=timezone.now() + dt.timedelta(seconds=1),
    ).exclude(kind__in=NOT_FROM_POOL)


def _claim(business, pool, head: dict, head_id: int, size: int) -> tuple[int, list[Item]]:
    now = timezone.now()
    cfg = CommsSettings.for_business(business)
    with transaction.atomic():
        qs = (
            _pending(head)
            .select_for_update(of=("self",), skip_locked=True)
            .select_related(
                "work_order__customer",
                "work_order__location",
                "work_order__assigned_technician__user",
                "invoice__customer",
            )
        )
        rows = list(qs.filter(pk=head_id)) + list(qs.exclude(pk=head_id).order_by("pk")[: size - 1])
        for msg in rows:  # one business: no query per row for it
            msg.business = business
            for related in (msg.work_order, msg.invoice):
                if related is not None:
                    related.business = business
        prepared = [(msg, prepare(msg, cfg=cfg)) for msg in rows]
        consent = consent_records_for(
            business=business, phones=[p.recipient for _m, p in prepared if not isinstance(p, str)]
        )
        templates, opens_by_tz, skipped, held, ready = {}, {}, [], [], []
        for msg, p in prepared:
            reason = p if isinstance(p, str) else ""
            if not reason:
                reason = sms_refusal_given(
                    record=consent.get(p.recipient), phone=p.recipient, customer=p.customer
                )
            if reason:
                msg.status, msg.reason, msg.processed_at = S.SKIPPED, reason[:300], now
                skipped.append(msg)
                continue
            tz = str(p.tz)
            if tz not in opens_by_tz:
                opens_by_tz[tz] = next_send_time(
                    now=now, tz=tz, start=cfg.send_window_start, end=cfg.send_window_end
                )
            if opens_by_tz[tz] is not None:
                msg.due_at, msg.reason, msg.enqueued_at = (
                    opens_by_tz[tz],
                    "held for quiet hours",
                    None,
                )
                held.append(msg)
                continue
            if msg.kind not in templates:
                templates[msg.kind] = template_for(business, msg.kind)
            rendered = render(templates[msg.kind], p.values)
            log = CommunicationLog(
                business=business,
                channel=Channel.SMS,
                direction=Direction.OUTBOUND,
                template_kind=msg.kind,
                sender=str(pool_pick(pool, p.recipient).phone),
                recipient=p.recipient,
                body=rendered.sms_body,
                work_order=msg.work_order,
                customer=p.customer,
                metadata={"scheduled_message_id": msg.pk, "dedupe_key": msg.dedupe_key},
            )
            ready.append(Item(msg, log, rendered, pool_pick(pool, p.recipient)))
        for msg in [*skipped, *held, *(i.msg for i in ready)]:
            msg.updated_at = now  # bulk_update does not touch auto_now fields
        ScheduledMessage.objects.bulk_update(
            skipped, ["status", "reason", "processed_at", "updated_at"]
        )
        ScheduledMessage.objects.bulk_update(
            held, ["due_at", "reason", "enqueued_at", "updated_at"]
        )
        CommunicationLog.objects.bulk_create([i.log for i in ready])
        for item in ready:
            item.msg.log, item.msg.status = item.log, S.SENDING
        ScheduledMessage.objects.bulk_update(
            [i.msg for i in ready], ["log", "status", "updated_at"]
        )
    # Committed: every text below is "sending" before its HTTP call, so it goes out at most once.
    return len(rows), ready


def _send(business, pool, head: dict, head_id: int, size: int) -> int:
    """Claim batches and feed the number lanes until the hand-over is done or the task's time is
    up. A new batch is claimed as soon as one number's lane runs dry, so no number idles while
    another still has texts; the lanes' results are written back every FLUSH_EVERY_S."""
    cfg = CommsSettings.for_business(business)
    providers, unusable = {}, {}
    for sender in pool:
        try:
            provider = provider_for(sender.connection)
            provider.client()  # credentials checked and the client built before the threads
            providers[sender.pk] = provider
        except ProviderError as exc:
            unusable[sender.pk] = exc  # its texts fail with the reason, one by one
    lanes = Lanes(providers=providers, callback=status_callback_url(), validity=VALIDITY_S)
    deadline = time.monotonic() + TASK_BUDGET_S
    claimed, claiming, buffer, flushed = 0, True, [], time.monotonic()
    try:
        while True:
            claiming = claiming and (not claimed or time.monotonic() < deadline)
            dry = not lanes.outstanding or min(lanes.outstanding.values()) <= 1
            if claiming and dry and lanes.busy() < QUEUE_BATCHES * size:
                rows, items = _claim(business, pool, head, head_id, size)
                claimed, claiming = claimed + rows, rows > 0
                for item in items:
                    item.error = unusable.get(item.sender.pk)
                lanes.feed(items)
                continue
            if not claiming and not lanes.busy():
                break
            if (item := lanes.take(FLUSH_EVERY_S / 2)) is not None:
                buffer.append(item)
            if buffer and (not lanes.busy() or time.monotonic() - flushed >= FLUSH_EVERY_S):
                _record(buffer, cfg)
                buffer, flushed = [], time.monotonic()
    except BaseException:
        # Texts not yet sent stay "sending" for a person to check, as after a crash.
        lanes.close(abort=True)
        raise
    lanes.close()
    if buffer:
        _record(buffer, cfg)
    return claimed


def _record(items: list[Item], cfg) -> None:
    """Write back what Twilio answered: bulk for sends, one by one for the (rare) failures."""
    now = timezone.now()
    _activities_record(items)
    sent = [i for i in items if i.error is None and i.result is not None]
    for item in sent:
        sent_apply(item.log, item.result, item.rendered, cfg)
        item.log.updated_at = now
        item.msg.status, item.msg.reason, item.msg.processed_at = S.SENT, "", now
        item.msg.updated_at = now
    with transaction.atomic():
        CommunicationLog.objects.bulk_update(
            [i.log for i in sent],
            [
                "provider_id",
                "segments",
                "encoding",
                "cost",
                "cost_is_estimate",
                "status",
                "status_history",
                "updated_at",
            ],
        )
        ScheduledMessage.objects.bulk_update(
            [i.msg for i in sent], ["status", "reason", "processed_at", "updated_at"]
        )
    for item in items:
        if isinstance(item.error, RateLimited) and not item.called:
            _requeue(item)
        elif item.error is not None or item.result is None:
            error = item.error or ProviderError("not sent")
            if isinstance(error, ProviderError):
                delivery_failed(item.msg, item.log, error)
            else:  # a bug, not a vendor answer: keep it visible, never re-send blindly
                finish(item.msg, S.FAILED, f"{type(error).__name__}: {error}")


def _requeue(item: Item) -> None:
    """Our own limiter kept the number busy past the wait: nothing reached Twilio, so this is no
    attempt; the row goes back to pending for the next beat tick and its unused log is dropped."""
    msg = item.msg
    msg.status, msg.reason, msg.log, msg.enqueued_at = S.PENDING, "sender number busy", None, None
    msg.save(update_fields=["status", "reason", "log", "enqueued_at", "updated_at"])
    item.log.delete()


def _activities_record(items: list[Item]) -> None:
    """One IntegrationActivity per HTTP call, as `tracked` writes them, in one INSERT."""
    rows, notes = [], []
    for item in items:
        if not item.called:
            continue  # never reached Twilio (limiter wait, missing credentials)
        connection = item.sender.connection
        error = item.error
        rows.append(
            IntegrationActivity(
                business_id=connection.business_id,
                connection=connection,
                kind=ActivityKind.MESSAGE,
                operation="POST message",
                outcome=outcome_of(error),
                status_code=getattr(error, "status_code", None),
                duration_ms=max(0, item.duration_ms),
                error_message=redact(str(error), connection.secret_values())[:500] if error else "",
                occurred_at=timezone.now(),
            )
        )
        if isinstance(error, AuthenticationError | TemporaryError | RejectedError):
            notes.append((connection, error))
    IntegrationActivity.objects.bulk_create(rows)
    for connection, error in notes:
        connection_note_failure(connection, error)
