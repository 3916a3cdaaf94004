"""Typed views of Stripe objects, parsed from plain dicts (SDK responses and webhook payloads alike).

A malformed payload fails here as PayloadError, never as a KeyError deep in a handler. The parsers
accept both the pre-2025 and the current API shapes where Stripe moved fields (subscription periods
moved onto items; invoice.subscription moved under `parent`; the first invoice's client secret
moved from `payment_intent` to `confirmation_secret`), and localstripe's expanded `latest_charge`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

from apps.payments.money import from_minor


class PayloadError(ValueError):
    """A Stripe object without the fields we rely on."""


def _obj(data: Any, what: str) -> dict:
    if not isinstance(data, dict):
        raise PayloadError(f"{what} is not an object")
    return data


def _str(data: dict, key: str, *, required: bool = False) -> str:
    value = data.get(key)
    if isinstance(value, dict):  # an expanded object: we only need its id
        value = value.get("id")
    if value is None or value == "":
        if required:
            raise PayloadError(f"missing '{key}'")
        return ""
    if not isinstance(value, str):
        raise PayloadError(f"'{key}' is not a string")
    return value


def _int(data: dict, key: str, *, required: bool = False) -> int | None:
    value = data.get(key)
    if value is None:
        if required:
            raise PayloadError(f"missing '{key}'")
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise PayloadError(f"'{key}' is not an integer")
    return value


def timestamp(value: int | None) -> dt.datetime | None:
    return None if value is None else dt.datetime.fromtimestamp(value, tz=dt.UTC)


def _ts(data: dict, key: str) -> dt.datetime | None:
    return timestamp(_int(data, key))


def _currency(data: dict) -> str:
    return _str(data, "currency", required=True).upper()


def _money(data: dict, key: str, currency: str) -> Decimal:
    return from_minor(_int(data, key) or 0, currency)


def _metadata(data: dict) -> dict[str, str]:
    meta = data.get("metadata") or {}
    if not isinstance(meta, dict):
        raise PayloadError("'metadata' is not an object")
    return {str(k): str(v) for k, v in meta.items()}


def _list_data(value: Any) -> list[dict]:
    if isinstance(value, dict):
        value = value.get("data")
    if value is not None and not isinstance(value, list):
        raise PayloadError("a list is not a list")
    return [v for v in (value or []) if isinstance(v, dict)]


def _strings(data: dict, key: str) -> tuple[str, ...]:
    value = data.get(key) or ()
    if not isinstance(value, list | tuple):
        raise PayloadError(f"'{key}' is not a list")
    return tuple(str(v) for v in value)


@dataclasses.dataclass(frozen=True)
class RemoteIntent:
    id: str
    status: str
    amount: Decimal
    amount_received: Decimal
    currency: str
    capture_method: str
    client_secret: str
    latest_charge: str
    payment_method: str
    payment_method_types: tuple[str, ...]
    failure_message: str
    customer: str
    created: dt.datetime | None
    metadata: dict[str, str]


def parse_intent(data: Any) -> RemoteIntent:
    d = _obj(data, "payment_intent")
    currency = _currency(d)
    error = d.get("last_payment_error") or {}
    charge = _str(d, "latest_charge")
    if not charge:  # API versions before 2022-11-15 list charges instead
        charges = _list_data(d.get("charges"))
        charge = charges[-1].get("id", "") if charges else ""
    capture = _str(d, "capture_method") or "automatic"
    return RemoteIntent(
        id=_str(d, "id", required=True),
        status=_str(d, "status", required=True),
        amount=_money(d, "amount", currency),
        amount_received=_money(d, "amount_received", currency),
        currency=currency,
        capture_method="manual" if capture == "manual" else "automatic",
        client_secret=_str(d, "client_secret"),
        latest_charge=charge,
        payment_method=_str(d, "payment_method"),
        payment_method_types=_strings(d, "payment_method_types"),
        failure_message=str(error.get("message") or "") if isinstance(error, dict) else "",
        customer=_str(d, "customer"),
        created=_ts(d, "created"),
        metadata=_metadata(d),
    )


@dataclasses.dataclass(frozen=True)
class RemoteRefund:
    id: str
    status: str
    amount: Decimal
    currency: str
    charge: str
    payment_intent: str
    failure_reason: str
    metadata: dict[str, str]


def parse_refund(data: Any) -> RemoteRefund:
    d = _obj(data, "refund")
    currency = _currency(d)
    return RemoteRefund(
        id=_str(d, "id", required=True),
        status=_str(d, "status") or "pending",
        amount=_money(d, "amount", currency),
        currency=currency,
        charge=_str(d, "charge"),
        payment_intent=_str(d, "payment_intent"),
        failure_reason=_str(d, "failure_reason"),
        metadata=_metadata(d),
    )


@dataclasses.dataclass(frozen=True)
class RemoteCharge:
    id: str
    payment_intent: str
    amount: Decimal
    amount_refunded: Decimal
    currency: str
    refunds: tuple[RemoteRefund, ...]
    refunds_listed: bool  # False when the API version no longer embeds refunds
    payment_method_type: str


def parse_charge(data: Any) -> RemoteCharge:
    d = _obj(data, "charge")
    currency = _currency(d)
    details = d.get("payment_method_details") or {}
    return RemoteCharge(
        id=_str(d, "id", required=True),
        payment_intent=_str(d, "payment_intent"),
        amount=_money(d, "amount", currency),
        amount_refunded=_money(d, "amount_refunded", currency),
        currency=currency,
        refunds=tuple(parse_refund(r) for r in _list_data(d.get("refunds"))),
        refunds_listed="refunds" in d,
        payment_method_type=str(details.get("type") or "") if isinstance(details, dict) else "",
    )


@dataclasses.dataclass(frozen=True)
class RemoteDispute:
    id: str
    charge: str
    payment_intent: str
    amount: Decimal
    currency: str
    reason: str
    status: str
    evidence_due_by: dt.datetime | None
    created: dt.datetime | None


def parse_dispute(data: Any) -> RemoteDispute:
    d = _obj(data, "dispute")
    currency = _currency(d)
    evidence = d.get("evidence_details") or {}
    return RemoteDispute(
        id=_str(d, "id", required=True),
        charge=_str(d, "charge"),
        payment_intent=_str(d, "payment_intent"),
        amount=_money(d, "amount", currency),
        currency=currency,
        reason=_str(d, "reason"),
        status=_str(d, "status"),
        evidence_due_by=_ts(evidence, "due_by") if isinstance(evidence, dict) else None,
        created=_ts(d, "created"),
    )


@dataclasses.dataclass(frozen=True)
class RemotePaymentMethod:
    id: str
    type: str
    customer: str
    brand: str
    last4: str
    exp_month: int | None
    exp_year: int | None
    bank_name: str


def parse_payment_method(data: Any) -> RemotePaymentMethod:
    d = _obj(data, "payment_method")
    kind = _str(d, "type", required=True)
    card = d.get("card") if isinstance(d.get("card"), dict) else {}
    bank = d.get("us_bank_account") if isinstance(d.get("us_bank_account"), dict) else {}
    return RemotePaymentMethod(
        id=_str(d, "id", required=True),
        type=kind,
        customer=_str(d, "customer"),
        brand=str(card.get("brand") or ""),
        last4=str(card.get("last4") or bank.get("last4") or "")[-4:],
        exp_month=card.get("exp_month") if isinstance(card.get("exp_month"), int) else None,
        exp_year=card.get("exp_year") if isinstance(card.get("exp_year"), int) else None,
        bank_name=str(bank.get("bank_name") or ""),
    )


@dataclasses.dataclass(frozen=True)
class RemoteSetupIntent:
    id: str
    status: str
    customer: str
    payment_method: str


def parse_setup_intent(data: Any) -> RemoteSetupIntent:
    d = _obj(data, "setup_intent")
    return RemoteSetupIntent(
        id=_str(d, "id", required=True),
        status=_str(d, "status"),
        customer=_str(d, "customer"),
        payment_method=_str(d, "payment_method"),
    )


@dataclasses.dataclass(frozen=True)
class RemoteSubscription:
    id: str
    status: str
    customer: str
    item_id: str
    price_id: str
    current_period_start: dt.datetime | None
    current_period_end: dt.datetime | None
    cancel_at_period_end: bool
    canceled_at: dt.datetime | None
    latest_invoice: str
    client_secret: str
    hosted_invoice_url: str
    created: dt.datetime | None
    metadata: dict[str, str]


def parse_subscription(data: Any) -> RemoteSubscription:
    d = _obj(data, "subscription")
    items = _list_data(d.get("items"))
    item = items[0] if items else {}
    price = item.get("price") if isinstance(item.get("price"), dict) else {}
    invoice = d.get("latest_invoice") if isinstance(d.get("latest_invoice"), dict) else {}
    secret = ""
    if invoice:
        confirmation = invoice.get("confirmation_secret")
        intent = invoice.get("payment_intent")
        if isinstance(confirmation, dict):
            secret = str(confirmation.get("client_secret") or "")
        elif isinstance(intent, dict):
            secret = str(intent.get("client_secret") or "")
    return RemoteSubscription(
        id=_str(d, "id", required=True),
        status=_str(d, "status", required=True),
        customer=_str(d, "customer"),
        item_id=str(item.get("id") or ""),
        price_id=str(price.get("id") or "") if price else str(item.get("price") or ""),
        current_period_start=_ts(d, "current_period_start") or _ts(item, "current_period_start"),
        current_period_end=_ts(d, "current_period_end") or _ts(item, "current_period_end"),
        cancel_at_period_end=bool(d.get("cancel_at_period_end")),
        canceled_at=_ts(d, "canceled_at"),
        latest_invoice=_str(d, "latest_invoice"),
        client_secret=secret,
        hosted_invoice_url=str(invoice.get("hosted_invoice_url") or "") if invoice else "",
        created=_ts(d, "created"),
        metadata=_metadata(d),
    )


@dataclasses.dataclass(frozen=True)
class RemoteInvoice:
    """A Stripe Billing invoice (a subscription's period), not one of our invoices."""

    id: str
    subscription: str
    status: str
    amount_due: Decimal
    amount_paid: Decimal
    currency: str
    attempt_count: int
    next_payment_attempt: dt.datetime | None
    period_start: dt.datetime | None
    period_end: dt.datetime | None
    paid_at: dt.datetime | None
    created: dt.datetime | None


def parse_invoice(data: Any) -> RemoteInvoice:
    d = _obj(data, "invoice")
    currency = _currency(d)
    subscription = _str(d, "subscription")
    if not subscription:
        parent = d.get("parent") if isinstance(d.get("parent"), dict) else {}
        details = parent.get("subscription_details") if parent else None
        subscription = _str(details, "subscription") if isinstance(details, dict) else ""
    lines = _list_data(d.get("lines"))
    period = lines[0].get("period") if lines and isinstance(lines[0].get("period"), dict) else {}
    transitions = (
        d.get("status_transitions") if isinstance(d.get("status_transitions"), dict) else {}
    )
    return RemoteInvoice(
        id=_str(d, "id", required=True),
        subscription=subscription,
        status=_str(d, "status"),
        amount_due=_money(d, "amount_due", currency),
        amount_paid=_money(d, "amount_paid", currency),
        currency=currency,
        attempt_count=_int(d, "attempt_count") or 0,
        next_payment_attempt=_ts(d, "next_payment_attempt"),
        period_start=_ts(period, "start") or _ts(d, "period_start"),
        period_end=_ts(period, "end") or _ts(d, "period_end"),
        paid_at=_ts(transitions, "paid_at"),
        created=_ts(d, "created"),
    )


@dataclasses.dataclass(frozen=True)
class RemoteCheckoutSession:
    id: str
    status: str
    payment_status: str
    payment_intent: str
    payment_link: str
    amount_total: Decimal
    currency: str
    metadata: dict[str, str]


def parse_checkout_session(data: Any) -> RemoteCheckoutSession:
    d = _obj(data, "checkout.session")
    currency = _currency(d)
    return RemoteCheckoutSession(
        id=_str(d, "id", required=True),
        status=_str(d, "status"),
        payment_status=_str(d, "payment_status"),
        payment_intent=_str(d, "payment_intent"),
        payment_link=_str(d, "payment_link"),
        amount_total=_money(d, "amount_total", currency),
        currency=currency,
        metadata=_metadata(d),
    )


@dataclasses.dataclass(frozen=True)
class RemoteLink:
    id: str
    url: str
    active: bool


def parse_link(data: Any) -> RemoteLink:
    d = _obj(data, "payment_link")
    return RemoteLink(
        id=_str(d, "id", required=True), url=_str(d, "url"), active=bool(d.get("active", True))
    )


@dataclasses.dataclass(frozen=True)
class RemoteEvent:
    id: str
    type: str
    created: dt.datetime
    account: str
    livemode: bool
    object: dict


def parse_event(data: Any) -> RemoteEvent:
    d = _obj(data, "event")
    inner = _obj(d.get("data"), "event data")
    created = _ts(d, "created")
    if created is None:
        raise PayloadError("missing 'created'")
    return RemoteEvent(
        id=_str(d, "id", required=True),
        type=_str(d, "type", required=True),
        created=created,
        account=_str(d, "account"),
        livemode=bool(d.get("livemode")),
        object=_obj(inner.get("object"), "event data.object"),
    )
