"""Money conversion and typed parsing of Stripe objects across API versions."""

from decimal import Decimal

import pytest

from apps.payments.money import from_minor, to_minor
from apps.payments.stripe_objects import (
    PayloadError,
    parse_charge,
    parse_event,
    parse_intent,
    parse_invoice,
    parse_subscription,
)


def test_minor_units_respect_zero_decimal_currencies():
    assert to_minor(Decimal("12.34"), "usd") == 1234
    assert to_minor(Decimal("100"), "JPY") == 100
    assert from_minor(1234, "USD") == Decimal("12.34")
    assert from_minor(100, "JPY") == Decimal("100.00")
    with pytest.raises(ValueError, match="more decimals"):
        to_minor(Decimal("1.005"), "USD")
    with pytest.raises(ValueError, match="more decimals"):
        to_minor(Decimal("1.5"), "JPY")


def test_intent_from_old_api_lists_charges_and_localstripe_expands_latest_charge():
    base = {"id": "pi_1", "status": "succeeded", "amount": 500, "currency": "usd"}
    old = parse_intent({**base, "charges": {"data": [{"id": "ch_old"}]}})
    assert old.latest_charge == "ch_old" and old.amount == Decimal("5.00")
    expanded = parse_intent({**base, "latest_charge": {"id": "ch_obj", "object": "charge"}})
    assert expanded.latest_charge == "ch_obj"


def test_subscription_periods_top_level_or_on_items():
    old = parse_subscription(
        {
            "id": "sub_1",
            "status": "active",
            "current_period_end": 1_800_000_000,
            "items": {"data": [{"id": "si_1", "price": {"id": "price_1"}}]},
        }
    )
    new = parse_subscription(
        {
            "id": "sub_1",
            "status": "active",
            "items": {
                "data": [{"id": "si_1", "price": "price_1", "current_period_end": 1_800_000_000}]
            },
        }
    )
    assert old.current_period_end == new.current_period_end is not None
    assert old.price_id == new.price_id == "price_1"
    with_secret = parse_subscription(
        {
            "id": "sub_2",
            "status": "incomplete",
            "latest_invoice": {
                "id": "in_1",
                "confirmation_secret": {"client_secret": "cs_1"},
                "hosted_invoice_url": "https://invoice.stripe.com/i/1",
            },
        }
    )
    assert with_secret.client_secret == "cs_1" and with_secret.latest_invoice == "in_1"


def test_invoice_subscription_old_and_new_shapes():
    old = parse_invoice({"id": "in_1", "currency": "usd", "subscription": "sub_1"})
    new = parse_invoice(
        {
            "id": "in_1",
            "currency": "usd",
            "parent": {"subscription_details": {"subscription": "sub_1"}},
        }
    )
    assert old.subscription == new.subscription == "sub_1"


def test_charge_without_embedded_refunds_says_so():
    charge = parse_charge({"id": "ch_1", "currency": "usd", "amount": 100, "amount_refunded": 100})
    assert charge.refunds == () and charge.refunds_listed is False


@pytest.mark.parametrize(
    "payload",
    [
        [],
        {"id": "evt_1", "type": "x", "data": {"object": {}}},  # no created
        {"id": "evt_1", "type": "x", "created": 1, "data": {}},  # no object
        {"id": 5, "type": "x", "created": 1, "data": {"object": {}}},
    ],
)
def test_malformed_events_are_payload_errors(payload):
    with pytest.raises(PayloadError):
        parse_event(payload)


def test_intent_amount_must_be_an_integer():
    with pytest.raises(PayloadError, match="amount"):
        parse_intent({"id": "pi_1", "status": "succeeded", "amount": "5.00", "currency": "usd"})
