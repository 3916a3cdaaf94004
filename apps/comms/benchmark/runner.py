"""comms_benchmark: emergency latency and reminder fan-out through a real Celery worker and Redis.

Emergency latency runs from the work order's commit to the text reaching the loopback Twilio
server. Fan-out plans N confirmations due at once, dispatches them twice (two racing beat ticks),
and measures the send rate against the pool's ceiling (numbers x messages per second per number).
"""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections import Counter
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.comms.models import CommsSettings, ConsentRecord, ScheduledMessage, SenderNumber
from apps.comms.services.outbox import due_messages_dispatch
from apps.comms.testing.twilio_loopback import TwilioLoopback
from apps.core import models as m
from apps.core.services.work_orders import work_order_create
from apps.integrations.models import IntegrationConnection

ACCOUNT = "AC" + "b" * 32


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def world(twilio_url: str, *, emergency_mps: int = 10) -> dict:
    business = m.Business.objects.create(
        name="Bench HVAC",
        slug="bench-hvac",
        main_phone="+13035550100",
        emergency_phone="+13035550199",
    )
    CommsSettings.objects.create(
        business=business, send_window_start=dt.time(0, 0), send_window_end=dt.time(23, 59, 59)
    )
    connection = IntegrationConnection.objects.create(
        business=business,
        provider="twilio",
        name="Twilio",
        api_base_url=twilio_url,
        external_account_id=ACCOUNT,
        credentials={"account_sid": ACCOUNT, "auth_token": "t" * 32},
        status="connected",
    )
    SenderNumber.objects.create(
        business=business,
        role="emergency",
        phone="+13035550199",
        connection=connection,
        messages_per_second=Decimal(emergency_mps),
    )
    user = m.User.objects.create(
        username="bench-tech",
        business=business,
        role="technician",
        first_name="Sam",
        last_name="Rivera",
    )
    tech = m.Technician.objects.create(business=business, user=user, phone="+13035550142")
    category = m.ServiceCategory.objects.create(business=business, code="hvac", name="HVAC")
    return {"business": business, "connection": connection, "tech": tech, "category": category}


def emergency_latency(
    w: dict, twilio: TwilioLoopback, *, count: int, spacing: float
) -> list[float]:
    business = w["business"]
    committed: dict[str, float] = {}
    for i in range(count):
        phone = f"+1303556{i:04d}"
        customer = m.Customer.objects.create(
            business=business, display_name=f"Emergency {i}", phone=phone, sms_opt_in=True
        )
        location = m.ServiceLocation.objects.create(
            business=business,
            customer=customer,
            address_line1=f"{i} Main St",
            latitude=Decimal("39.74"),
            longitude=Decimal("-104.99"),
        )
        now = timezone.now()
        with transaction.atomic():
            work_order_create(
                business=business,
                customer=customer,
                location=location,
                category=w["category"],
                summary="No heat, pipes freezing",
                priority="emergency",
                arrival_window_start=now,
                arrival_window_end=now + dt.timedelta(hours=1),
                assigned_technician=w["tech"],
            )
        committed[phone] = time.time()
        time.sleep(spacing)
    deadline = time.monotonic() + 120
    arrivals: dict[str, float] = {}
    while len(arrivals) < count and time.monotonic() < deadline:
        for r in twilio.messages():
            if r["form"].get("To") in committed:
                arrivals.setdefault(r["form"]["To"], r["at"])
        time.sleep(0.2)
    if len(arrivals) < count:
        raise RuntimeError(f"only {len(arrivals)} of {count} emergency texts arrived")
    return [arrivals[p] - committed[p] for p in committed]


def fanout(
    w: dict,
    twilio: TwilioLoopback,
    *,
    count: int,
    senders: int,
    mps: int,
    opted_out_every: int = 50,
    meter=None,
) -> dict:
    business, connection = w["business"], w["connection"]
    SenderNumber.objects.bulk_create(
        SenderNumber(
            business=business,
            role="main",
            phone=f"+1720555{i:04d}",
            connection=connection,
            messages_per_second=Decimal(mps),
        )
        for i in range(senders)
    )
    phones = [f"+1970{i:07d}" for i in range(count)]
    customers = m.Customer.objects.bulk_create(
        m.Customer(business=business, display_name=f"Reminder {i}", phone=p, sms_opt_in=True)
        for i, p in enumerate(phones)
    )
    opted_out = set(phones[::opted_out_every])
    ConsentRecord.objects.bulk_create(
        ConsentRecord(business=business, phone=p, status="opted_out") for p in opted_out
    )
    locations = m.ServiceLocation.objects.bulk_create(
        m.ServiceLocation(business=business, customer=c, address_line1="1 Elm St")
        for c in customers
    )
    start = timezone.now() + dt.timedelta(hours=24)
    orders = m.WorkOrder.objects.bulk_create(
        m.WorkOrder(
            business=business,
            number=f"WO-B{i:06d}",
            customer=c,
            location=loc,
            category=w["category"],
            summary="Tune-up",
            status="scheduled",
            arrival_window_start=start,
            arrival_window_end=start + dt.timedelta(hours=2),
        )
        for i, (c, loc) in enumerate(zip(customers, locations, strict=True))
    )
    due = timezone.now()
    ScheduledMessage.objects.bulk_create(
        ScheduledMessage(
            business=business,
            kind="appointment_confirmation",
            audience="customer",
            channel="sms",
            dedupe_key=f"confirm:{wo.pk}:bench",
            due_at=due,
            work_order=wo,
            context={"window_start": start.isoformat()},
        )
        for wo in orders
    )
    expected = count - len(opted_out)
    before = len(twilio.messages())
    from apps.comms.tasks import scheduled_message_send_task

    if meter is not None:
        meter.start()
    handed = due_messages_dispatch(limit=count)
    due_messages_dispatch(limit=count)  # a second beat tick finds nothing new to hand over
    # Broker redelivery (a worker lost mid-task): every 10th task arrives twice.
    confirmations = ScheduledMessage.objects.filter(
        business=business, kind="appointment_confirmation"
    ).order_by("pk")
    for pk in list(confirmations.values_list("pk", flat=True))[::10]:
        scheduled_message_send_task.delay(pk)
    last_progress, seen = time.monotonic(), 0
    while seen < expected and time.monotonic() - last_progress < 30:
        time.sleep(0.5)
        now_seen = len(twilio.messages()) - before
        if now_seen != seen:
            seen, last_progress = now_seen, time.monotonic()
    cpu = meter.stop() if meter is not None else {}
    time.sleep(2)  # let any duplicate arrive before counting
    sends = [r for r in twilio.messages()[before:] if r["form"].get("To", "").startswith("+1970")]
    by_sender: dict[str, list[float]] = {}
    for r in sends:
        by_sender.setdefault(r["form"].get("From", ""), []).append(r["at"])
    # Each number's own rate over the whole run: an idle number shows as a low figure here.
    overall = (max(r["at"] for r in sends) - min(r["at"] for r in sends)) if sends else 0
    number_mps = [len(t) / overall for t in by_sender.values()] if overall else [0.0]
    per_number = Counter(r["form"]["To"] for r in sends)
    times = sorted(r["at"] for r in sends)
    ceiling = senders * mps
    span = (times[-1] - times[0]) + 1 / ceiling if times else 0
    return {
        "handed_to_workers": handed,
        "sent": len(per_number),
        "expected": expected,
        "ceiling_mps": ceiling,
        "achieved_mps": round(len(sends) / span, 1) if span else 0.0,
        "fanout_ratio": round(len(sends) / span / ceiling, 3) if span else 0.0,
        "duplicates": sum(c - 1 for c in per_number.values() if c > 1),
        "sent_to_opted_out": sum(1 for p in per_number if p in opted_out),
        "numbers_used": len(by_sender),
        "number_mps_min": round(min(number_mps), 2),
        "number_mps_max": round(max(number_mps), 2),
        "cpu_ms_per_send": {k: round(v * 1000 / max(1, len(sends)), 2) for k, v in cpu.items()},
    }


def summarize(latencies: list[float]) -> dict:
    return {
        "emergency_p50_s": round(statistics.median(latencies), 3),
        "emergency_p95_s": round(_percentile(latencies, 95), 3),
        "emergency_max_s": round(max(latencies), 3),
    }
