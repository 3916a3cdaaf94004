"""Stripe Billing and Payment Links calls, mixed into StripeProvider.

Kept apart only for size; like the rest of the provider it goes through `_call` (counting, error
mapping, rate limits) and never imports the SDK itself.
"""

from __future__ import annotations

from typing import Any

from apps.payments.money import to_minor
from apps.payments.stripe_objects import (
    RemoteLink,
    RemoteSubscription,
    parse_link,
    parse_subscription,
)


class StripeBillingMixin:
    # --- maintenance agreements (Billing) -----------------------------------------------------
    def product_create(self, *, idempotency_key: str, name: str, metadata: dict) -> str:
        data = self._call(
            "POST product",
            self.client.v1.products.create,
            params={"name": name, "metadata": metadata},
            options=self._options(idempotency_key),
        )
        return str(data["id"])

    def price_create(
        self,
        *,
        idempotency_key: str,
        product: str,
        amount,
        currency: str,
        recurring: dict | None,
        metadata: dict,
    ) -> str:
        params: dict[str, Any] = {
            "product": product,
            "unit_amount": to_minor(amount, currency),
            "currency": currency.lower(),
            "metadata": metadata,
        }
        if recurring:
            params["recurring"] = recurring
        data = self._call(
            "POST price",
            self.client.v1.prices.create,
            params=params,
            options=self._options(idempotency_key),
        )
        return str(data["id"])

    def one_off_price_create(
        self, *, idempotency_key: str, name: str, amount, currency: str, metadata: dict
    ) -> str:
        data = self._call(
            "POST price",
            self.client.v1.prices.create,
            params={
                "unit_amount": to_minor(amount, currency),
                "currency": currency.lower(),
                "product_data": {"name": name[:250]},
                "metadata": metadata,
            },
            options=self._options(idempotency_key),
        )
        return str(data["id"])

    def subscription_create(
        self,
        *,
        idempotency_key: str,
        customer: str,
        price: str,
        metadata: dict,
        default_payment_method: str = "",
    ) -> RemoteSubscription:
        params: dict[str, Any] = {
            "customer": customer,
            "items": [{"price": price}],
            # The subscription stays incomplete until the first invoice is paid; Stripe's
            # recommended flow, and the one that also works for bank-debit mandates.
            "payment_behavior": "default_incomplete",
            "payment_settings": {"save_default_payment_method": "on_subscription"},
            "expand": ["latest_invoice.confirmation_secret"],
            "metadata": metadata,
        }
        if default_payment_method:
            params["default_payment_method"] = default_payment_method
        data = self._call(
            "POST subscription",
            self.client.v1.subscriptions.create,
            params=params,
            options=self._options(idempotency_key),
        )
        return parse_subscription(data)

    def subscription_retrieve(self, subscription_id: str) -> RemoteSubscription:
        return parse_subscription(
            self._call("GET subscription", self.client.v1.subscriptions.retrieve, subscription_id)
        )

    def subscription_change_price(
        self, subscription_id: str, *, item_id: str, price: str, idempotency_key: str
    ) -> RemoteSubscription:
        data = self._call(
            "POST subscription",
            self.client.v1.subscriptions.update,
            subscription_id,
            params={
                "items": [{"id": item_id, "price": price}],
                "proration_behavior": "create_prorations",
            },
            options=self._options(idempotency_key),
        )
        return parse_subscription(data)

    def subscription_cancel(
        self, subscription_id: str, *, at_period_end: bool, idempotency_key: str
    ) -> RemoteSubscription:
        if at_period_end:
            data = self._call(
                "POST subscription",
                self.client.v1.subscriptions.update,
                subscription_id,
                params={"cancel_at_period_end": True},
                options=self._options(idempotency_key),
            )
        else:
            data = self._call(
                "DELETE subscription",
                self.client.v1.subscriptions.cancel,
                subscription_id,
                options=self._options(idempotency_key),
            )
        return parse_subscription(data)

    def invoice_pay(self, invoice_id: str, *, payment_method: str, idempotency_key: str) -> None:
        self._call(
            "POST invoice pay",
            self.client.v1.invoices.pay,
            invoice_id,
            params={"payment_method": payment_method, "off_session": True},
            options=self._options(idempotency_key),
        )

    # --- payment links ------------------------------------------------------------------------
    def payment_link_create(
        self, *, idempotency_key: str, price: str, payment_method_types: list[str], metadata: dict
    ) -> RemoteLink:
        data = self._call(
            "POST payment_link",
            self.client.v1.payment_links.create,
            params={
                "line_items": [{"price": price, "quantity": 1}],
                "payment_method_types": payment_method_types,
                "metadata": metadata,
                # Copied onto the PaymentIntent, so payment_intent.succeeded finds the invoice.
                "payment_intent_data": {"metadata": metadata},
            },
            options=self._options(idempotency_key),
        )
        return parse_link(data)

    def payment_link_deactivate(self, link_id: str, *, idempotency_key: str) -> None:
        self._call(
            "POST payment_link",
            self.client.v1.payment_links.update,
            link_id,
            params={"active": False},
            options=self._options(idempotency_key),
        )
