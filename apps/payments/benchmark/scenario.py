"""The benchmark's data: invoices with a payment story each, and the Stripe events that tell it.

Stories (weights): a card paid at once; a card declined then paid; an ACH debit that settles
three days later; an ACH debit that fails four days later; a card paid then partly refunded from
Stripe's dashboard two days later (the invoice reopens with the refund off its paid amount). Each
event is stamped with Stripe's `created`, so the shuffled delivery order differs from the order
the events happened in, and the expected final state of every invoice (status, amount paid) is
known in advance.
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.core.models import Business, Customer, Invoice, InvoiceStatus, LineItem
from apps.integrations.models import ConnectionStatus, IntegrationConnection
from apps.payments.models import StripePaymentIntent

DAY = 86400
STORIES = (
    ("card", 0.40),
    ("card_retry", 0.15),
    ("ach_ok", 0.20),
    ("ach_failed", 0.15),
    ("card_refunded", 0.10),
)
FINAL_PAID = {"card", "card_retry", "ach_ok"}
SUCCEEDED = FINAL_PAID | {"card_refunded"}


@dataclasses.dataclass
class Planned:
    invoice_id: int
    intent_id: int
    story: str
    expected_intent_status: str
    expected_invoice_status: str
    expected_amount_paid: Decimal
    expected_refunds: int


def refund_share(amount: Decimal) -> Decimal:
    """The part refunded in the card_refunded story: 40 %, to the cent."""
    return (amount * Decimal("0.4")).quantize(Decimal("0.01"))


def _pick(rng: random.Random) -> str:
    roll, total = rng.random(), 0.0
    for story, weight in STORIES:
        total += weight
        if roll < total:
            return story
    return STORIES[-1][0]


@transaction.atomic
def seed(
    *, invoices: int, webhook_secret: str, rng: random.Random
) -> tuple[IntegrationConnection, list[Planned]]:
    """Open invoices with one PaymentIntent each, as the API would have left them.

    Bulk-inserted (a lone invoice line each, totals set) so that seeding thousands takes seconds;
    the code under test (webhook, inbox, payment_record) is not bypassed.
    """
    business = Business.objects.create(name="Benchmark HVAC", slug=f"bench-{time.time_ns()}")
    connection = IntegrationConnection.objects.create(
        business=business,
        provider="stripe",
        name="Stripe",
        status=ConnectionStatus.CONNECTED,
        # Nothing listens here: processing must never need to call Stripe in this scenario.
        api_base_url="http://127.0.0.1:9",
        credentials={"secret_key": "sk_test_benchmark", "webhook_secret": webhook_secret},
    )
    customers = Customer.objects.bulk_create(
        Customer(business=business, display_name=f"Customer {n}") for n in range(invoices)
    )
    today = timezone.localdate()
    amounts = [Decimal(rng.randrange(9_000, 90_000)) / 100 for _ in range(invoices)]
    rows = Invoice.objects.bulk_create(
        Invoice(
            business=business,
            number=f"BENCH-{n:06d}",
            customer=customer,
            status=InvoiceStatus.OPEN,
            currency="USD",
            issued_on=today,
            due_date=today,
            subtotal=amount,
            total=amount,
        )
        for n, (customer, amount) in enumerate(zip(customers, amounts, strict=True))
    )
    LineItem.objects.bulk_create(
        LineItem(
            business=business,
            invoice=invoice,
            kind="service",
            description="Tune-up",
            unit_price=invoice.total,
            taxable=False,
        )
        for invoice in rows
    )
    stories = [_pick(rng) for _ in rows]
    intents = StripePaymentIntent.objects.bulk_create(
        StripePaymentIntent(
            business=business,
            connection=connection,
            invoice=invoice,
            customer_id=invoice.customer_id,
            idempotency_key=f"bench:pi:{invoice.pk}:1",
            stripe_id=f"pi_bench_{invoice.pk}",
            amount=invoice.total,
            currency="USD",
            payment_method_types=["us_bank_account"] if story.startswith("ach") else ["card"],
        )
        for invoice, story in zip(rows, stories, strict=True)
    )
    planned = [
        Planned(
            invoice_id=intent.invoice_id,
            intent_id=intent.pk,
            story=story,
            expected_intent_status="succeeded" if story in SUCCEEDED else "requires_payment_method",
            expected_invoice_status=InvoiceStatus.PAID
            if story in FINAL_PAID
            else InvoiceStatus.OPEN,
            expected_amount_paid=(
                intent.amount
                if story in FINAL_PAID
                else intent.amount - refund_share(intent.amount)
                if story == "card_refunded"
                else Decimal("0.00")
            ),
            expected_refunds=1 if story == "card_refunded" else 0,
        )
        for intent, story in zip(intents, stories, strict=True)
    ]
    return connection, planned


def _intent(intent: StripePaymentIntent, status: str, created: int, failure: str = "") -> dict:
    minor = int(intent.amount * 100)
    return {
        "id": intent.stripe_id,
        "object": "payment_intent",
        "amount": minor,
        "amount_received": minor if status == "succeeded" else 0,
        "currency": "usd",
        "status": status,
        "capture_method": "automatic",
        "payment_method_types": intent.payment_method_types,
        "last_payment_error": {"message": failure} if failure else None,
        "created": created - 10,
        "client_secret": f"{intent.stripe_id}_secret",
        "metadata": {"thorbis_invoice_id": str(intent.invoice_id)},
    }


def _charge_refunded(intent: StripePaymentIntent, created: int) -> dict:
    minor, refunded = int(intent.amount * 100), int(refund_share(intent.amount) * 100)
    return {
        "id": f"ch_bench_{intent.invoice_id}",
        "object": "charge",
        "amount": minor,
        "amount_refunded": refunded,
        "currency": "usd",
        "payment_intent": intent.stripe_id,
        "refunds": {
            "object": "list",
            "data": [
                {
                    "id": f"re_bench_{intent.invoice_id}",
                    "object": "refund",
                    "amount": refunded,
                    "currency": "usd",
                    "status": "succeeded",
                    "payment_intent": intent.stripe_id,
                    "created": created,
                    "metadata": {},
                }
            ],
        },
    }


def events_for(planned: list[Planned], *, limit: int) -> tuple[list[Planned], list[dict]]:
    """Whole stories until `limit` events, oldest first per invoice (delivery is shuffled later).

    Returns the invoices whose stories were told in full, and their events.
    """
    intents = StripePaymentIntent.objects.in_bulk([p.intent_id for p in planned])
    base = int(time.time()) - 30 * DAY
    out, told = [], []
    for p in planned:
        if len(out) >= limit:
            break
        told.append(p)
        intent, t = intents[p.intent_id], base + p.invoice_id * 7
        steps = {
            "card": [("payment_intent.succeeded", "succeeded", t, "")],
            "card_retry": [
                (
                    "payment_intent.payment_failed",
                    "requires_payment_method",
                    t,
                    "Your card was declined.",
                ),
                ("payment_intent.succeeded", "succeeded", t + 120, ""),
            ],
            "ach_ok": [
                ("payment_intent.processing", "processing", t, ""),
                ("payment_intent.succeeded", "succeeded", t + 3 * DAY, ""),
            ],
            "ach_failed": [
                ("payment_intent.processing", "processing", t, ""),
                (
                    "payment_intent.payment_failed",
                    "requires_payment_method",
                    t + 4 * DAY,
                    "Insufficient funds.",
                ),
            ],
            "card_refunded": [
                ("payment_intent.succeeded", "succeeded", t, ""),
                ("charge.refunded", "", t + 2 * DAY, ""),
            ],
        }[p.story]
        for n, (kind, status, created, failure) in enumerate(steps):
            obj = (
                _charge_refunded(intent, created)
                if kind == "charge.refunded"
                else _intent(intent, status, created, failure)
            )
            out.append(
                {
                    "id": f"evt_bench_{p.invoice_id}_{n}",
                    "object": "event",
                    "type": kind,
                    "created": created,
                    "livemode": False,
                    "api_version": "2026-10-28.endive",
                    "data": {"object": obj},
                }
            )
    return told, out


def deliveries(
    events: list[dict], *, duplicate_share: float, rng: random.Random
) -> tuple[list[str], int]:
    """Bodies to POST: every event once, a share of them twice, all shuffled."""
    bodies = [json.dumps(e) for e in events]
    extra = rng.sample(bodies, int(len(bodies) * duplicate_share))
    bodies = bodies + extra
    rng.shuffle(bodies)
    return bodies, len(extra)


def warmup_bodies(count: int) -> list[str]:
    """Events of a type nobody handles, to open every worker's database connection first."""
    now = int(time.time())
    return [
        json.dumps(
            {"id": f"evt_warm_{n}", "object": "event", "type": "ping", "created": now, "data": {}}
        )
        for n in range(count)
    ]
