"""Batched sending of a hand-over: once each, every number busy, checks at send time, pacing."""

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest

from apps.comms.models import CommunicationLog, ConsentRecord, ScheduledMessage, SenderNumber
from apps.comms.services import batch
from apps.comms.services.outbox import due_messages_dispatch
from apps.comms.services.senders import pool_pick, sender_paced
from apps.comms.tasks import scheduled_message_send_task
from apps.integrations import ratelimit
from apps.integrations.models import IntegrationActivity
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def pool(business, twilio_connection):
    return [
        SenderNumber.objects.create(
            business=business,
            role="main",
            phone=f"+1720555000{i}",
            connection=twilio_connection,
            messages_per_second=Decimal(50),
        )
        for i in range(3)
    ]


def _reminders(business, count: int, *, start: int = 0, tz: str = "America/Denver"):
    """Confirmations due now for `count` opted-in customers (phones +1970555xxxx)."""
    messages = []
    for i in range(start, start + count):
        customer = f.CustomerFactory(business=business, phone=f"+1970555{i:04d}", sms_opt_in=True)
        location = f.ServiceLocationFactory(customer=customer, business=business, timezone=tz)
        wo = f.WorkOrderFactory(location=location, status="scheduled")
        messages.append(
            ScheduledMessage.objects.create(
                business=business,
                kind="appointment_confirmation",
                audience="customer",
                channel="sms",
                dedupe_key=f"confirm:{wo.pk}:test",
                work_order=wo,
                due_at=wo.arrival_window_start - dt.timedelta(days=2),
            )
        )
    return messages


@pytest.fixture
def handed(monkeypatch):
    """The dispatcher's tasks, captured instead of queued, so a test can run (and re-run) them."""
    ids: list[int] = []
    monkeypatch.setattr(scheduled_message_send_task, "delay", ids.append)
    return ids


def _run(ids):
    for pk in ids:
        scheduled_message_send_task(pk)


def test_a_hand_over_goes_out_once_from_the_recipients_number(
    business, pool, twilio, daytime, handed, monkeypatch
):
    monkeypatch.setattr(batch, "MAX_BATCH", 4)  # several batches out of one hand-over
    messages = _reminders(business, 11)
    assert due_messages_dispatch() == 11
    _run(handed)
    _run(handed[::3])  # broker redelivery: those tasks arrive twice
    sends = twilio.messages()
    assert Counter(r["form"]["To"] for r in sends) == {
        f"+1970555{i:04d}": 1 for i in range(11)
    }  # each exactly once
    for r in sends:  # a customer always hears from the same number
        assert r["form"]["From"] == str(pool_pick(pool, r["form"]["To"]).phone)
    assert len({r["form"]["From"] for r in sends}) == 3
    for msg in messages:
        msg.refresh_from_db()
        assert msg.status == "sent"
        assert msg.log.provider_id.startswith("SM")
        assert msg.log.status == "queued"
        assert msg.log.sender == str(pool_pick(pool, msg.log.recipient).phone)
        assert msg.log.segments == 1 and msg.log.cost is not None
    # One activity row per HTTP call, as for a single send.
    assert IntegrationActivity.objects.filter(operation="POST message").count() == 11


def test_one_task_carries_the_hand_over_on_and_later_tasks_find_nothing(
    business, pool, twilio, daytime, handed, monkeypatch
):
    monkeypatch.setattr(batch, "MAX_BATCH", 5)
    _reminders(business, 12)
    due_messages_dispatch()
    assert batch.hand_over_send(scheduled_message_id=handed[3]) == 12  # batch after batch
    assert batch.hand_over_send(scheduled_message_id=handed[0]) == 0
    assert len(twilio.messages()) == 12


def test_a_task_past_its_time_budget_claims_no_further_batch(
    business, pool, twilio, daytime, handed, monkeypatch
):
    monkeypatch.setattr(batch, "MAX_BATCH", 5)
    monkeypatch.setattr(batch, "TASK_BUDGET_S", 0)
    _reminders(business, 7)
    due_messages_dispatch()
    assert batch.hand_over_send(scheduled_message_id=handed[3]) == 5  # its own row first
    assert ScheduledMessage.objects.get(pk=handed[3]).status == "sent"
    assert batch.hand_over_send(scheduled_message_id=handed[3]) == 2  # the rest
    assert batch.hand_over_send(scheduled_message_id=handed[0]) == 0
    assert len(twilio.messages()) == 7


def test_consent_quiet_hours_and_job_state_are_checked_when_the_batch_sends(
    business, pool, twilio, daytime, handed
):
    ok, opted_out, no_opt_in, cancelled = _reminders(business, 4)
    [night] = _reminders(business, 1, start=10, tz="Asia/Tokyo")  # 02:00 there
    due_messages_dispatch()
    # Things change between the hand-over and the send.
    ConsentRecord.objects.create(business=business, phone="+19705550001", status="opted_out")
    no_opt_in.work_order.customer.__class__.objects.filter(phone="+19705550002").update(
        sms_opt_in=False
    )
    cancelled.work_order.__class__.objects.filter(pk=cancelled.work_order_id).update(
        status="cancelled"
    )
    _run(handed)
    assert [r["form"]["To"] for r in twilio.messages()] == ["+19705550000"]
    for msg in (ok, opted_out, no_opt_in, cancelled, night):
        msg.refresh_from_db()
    assert ok.status == "sent"
    assert (opted_out.status, opted_out.reason) == ("skipped", "recipient opted out")
    assert (no_opt_in.status, no_opt_in.reason) == ("skipped", "customer has not agreed to texts")
    assert (cancelled.status, cancelled.reason) == ("skipped", "work order cancelled")
    assert (night.status, night.reason, night.enqueued_at) == (
        "pending",
        "held for quiet hours",
        None,
    )
    assert night.due_at == dt.datetime(2026, 11, 18, 23, 0, tzinfo=dt.UTC)  # 08:00 in Tokyo
    assert CommunicationLog.objects.count() == 1


def test_a_refusal_in_a_batch_is_applied_to_that_message_only(
    business, pool, twilio, daytime, handed
):
    messages = _reminders(business, 3)
    twilio.refuse["+19705550001"] = "21610"
    due_messages_dispatch()
    _run(handed)
    for msg in messages:
        msg.refresh_from_db()
    assert [m.status for m in messages] == ["sent", "failed", "sent"]
    assert messages[1].log.error_code == "21610"
    assert ConsentRecord.objects.get(phone="+19705550001").status == "opted_out"
    outcomes = Counter(IntegrationActivity.objects.values_list("outcome", flat=True))
    assert outcomes == {"success": 2, "rejected": 1}


def test_every_number_sends_at_once_each_within_its_own_rate(
    business, twilio_connection, twilio, daytime, handed
):
    pool = [
        SenderNumber.objects.create(
            business=business,
            role="main",
            phone=f"+1720555100{i}",
            connection=twilio_connection,
            messages_per_second=Decimal(2),
        )
        for i in range(2)
    ]
    _reminders(business, 12)
    due_messages_dispatch()
    _run(handed[:1])
    sends = twilio.messages()
    times: dict[str, list[float]] = {}
    for r in sends:
        times.setdefault(r["form"]["From"], []).append(r["at"])
    assert set(times) == {str(s.phone) for s in pool}
    assert all(len(t) >= 3 for t in times.values())  # each number had to wait for its limiter
    for t in times.values():
        t.sort()
        # 2 per second: any three consecutive sends of one number span at least a second.
        assert all(t[i + 2] - t[i] >= 0.95 for i in range(len(t) - 2))
    # Both numbers were busy at the same time, not one after the other.
    assert min(max(t) for t in times.values()) > max(min(t) for t in times.values())


def test_a_multi_segment_text_takes_as_many_of_the_numbers_slots(main_sender):
    main_sender.messages_per_second = Decimal(3)
    with sender_paced(main_sender, segments=3):
        pass
    # The one-second window of three is full after one three-segment text.
    key = f"sms-sender:{main_sender.pk}"
    assert ratelimit.backend().try_acquire(key, ((3, 1.0),)) > 0


def test_a_text_our_limiter_held_too_long_is_requeued_not_counted_as_an_attempt(
    business, main_sender, twilio, daytime, handed, monkeypatch
):
    from apps.comms.services import lanes

    monkeypatch.setattr(lanes, "LIMITER_MAX_WAIT_S", 0.0)
    _reminders(business, 2)  # one number at 1 per second
    due_messages_dispatch()
    _run(handed[:1])
    assert len(twilio.messages()) == 1
    first = ScheduledMessage.objects.get(pk=handed[0])  # the task's own row goes first
    second = ScheduledMessage.objects.exclude(pk=handed[0]).get()
    assert first.status == "sent"
    assert (second.status, second.reason, second.log, second.enqueued_at) == (
        "pending",
        "sender number busy",
        None,
        None,
    )
    assert "attempts" not in second.context
    assert CommunicationLog.objects.count() == 1


def test_when_writing_back_fails_the_lanes_stop_and_unsent_texts_stay_claimed(
    business, main_sender, twilio, daytime, handed, monkeypatch
):
    def broken(items, cfg):
        raise RuntimeError("database went away")

    monkeypatch.setattr(batch, "_record", broken)
    _reminders(business, 3)  # one number at 1 per second: the flush comes before the 2nd slot
    due_messages_dispatch()
    with pytest.raises(RuntimeError):
        _run(handed[:1])
    assert len(twilio.messages()) == 1
    statuses = Counter(ScheduledMessage.objects.values_list("status", flat=True))
    assert statuses == {"sending": 3}  # never re-sent blindly; a person checks them
