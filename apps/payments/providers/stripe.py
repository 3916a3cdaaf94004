"""Stripe, through the official SDK. The only module that imports `stripe`.

Each connection gets its own StripeClient (its secret key, its base URL override for sandboxes and
loopback fakes), so two businesses never share SDK global state. Every SDK call runs inside
activity.tracked(), which counts it for monitoring and maps Stripe's exceptions into the
framework's error tree; every POST carries an idempotency key derived from our own ids.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any

import stripe
from django.conf import settings

from apps.integrations.activity import tracked
from apps.integrations.errors import (
    AuthenticationError,
    ProviderError,
    RateLimited,
    RejectedError,
    TemporaryError,
)
from apps.integrations.providers import ConnectionCheck, Provider, RateLimitPolicy
from apps.integrations.ratelimit import limiter_for
from apps.integrations.schema import CredentialField
from apps.payments import conf
from apps.payments.money import to_minor
from apps.payments.providers import payments_registry
from apps.payments.providers.stripe_billing import StripeBillingMixin
from apps.payments.stripe_objects import (
    RemoteIntent,
    RemotePaymentMethod,
    RemoteRefund,
    parse_intent,
    parse_payment_method,
    parse_refund,
)


class SignatureInvalid(Exception):
    """A webhook whose Stripe-Signature does not verify (wrong secret, tampered or too old)."""


def map_stripe_error(exc: BaseException) -> ProviderError | None:
    """Stripe's exception classes -> temporary / authentication / rejected."""
    if not isinstance(exc, stripe.StripeError):
        return None
    status = getattr(exc, "http_status", None)
    # Stripe's own words about a refused request (user_message: the API's error message, never
    # str(exc), which adds "Request req_...:"). Connection, key and server errors get ours only:
    # their SDK text carries urllib3's or requests' exception and the key's last digits, and
    # these messages reach API answers, admin messages and activity rows.
    message = (getattr(exc, "user_message", None) or "").strip() or "no reason given"
    code = str(getattr(exc, "code", "") or "")
    kwargs = {"status_code": status, "vendor_code": code}
    if isinstance(exc, stripe.RateLimitError) or status == 429:
        return RateLimited("Stripe is limiting requests.", retry_after=1.0, **kwargs)
    if isinstance(exc, stripe.APIConnectionError):
        return TemporaryError("Could not reach Stripe.", **kwargs)
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        return AuthenticationError("Stripe refused the API key.", **kwargs)
    if isinstance(exc, stripe.CardError):
        return RejectedError(f"Card declined: {message}", **kwargs)
    if isinstance(exc, stripe.IdempotencyError):
        return RejectedError(f"Stripe idempotency conflict: {message}", **kwargs)
    if status is not None and status >= 500:
        return TemporaryError(f"Stripe is unavailable ({status}).", **kwargs)
    return RejectedError(f"Stripe refused the request: {message}", **kwargs)


def verify_webhook_signature(
    *, payload: str | bytes, header: str | None, secrets: list[str], tolerance: int
) -> None:
    """Accept the payload when any of the secrets (two during a rotation) verifies it."""
    if not header:
        raise SignatureInvalid("The Stripe-Signature header is missing.")
    if not secrets:
        raise SignatureInvalid("No webhook signing secret is configured for this endpoint.")
    if isinstance(payload, bytes):
        try:  # the SDK decodes bytes itself and would raise UnicodeDecodeError
            payload = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SignatureInvalid("The payload is not UTF-8 text.") from exc
    last: Exception | None = None
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(payload, header, secret, tolerance)
            return
        except stripe.SignatureVerificationError as exc:
            last = exc
    message = str(getattr(last, "user_message", None) or last or "")
    if "tolerance" in message:
        raise SignatureInvalid("The Stripe-Signature timestamp is too old (replay refused).")
    raise SignatureInvalid("The Stripe-Signature does not match the payload.")


def webhook_signature_header(*, payload: str, secret: str, timestamp: int | None = None) -> str:
    """Stripe's own signing scheme (for the benchmark and for tests that act as Stripe)."""
    return stripe.WebhookSignature.generate_signature_header(payload, secret, timestamp)


@payments_registry.register
class StripeProvider(StripeBillingMixin, Provider):
    key = "stripe"
    display_name = "Stripe"
    default_base_url = "https://api.stripe.com"
    credential_fields = (
        CredentialField(
            "secret_key", "Secret key", required=True, help="sk_live_… or sk_test_… (or rk_…)."
        ),
        CredentialField(
            "publishable_key",
            "Publishable key",
            secret=False,
            help="pk_…, handed to the technician app for the Payment Element.",
        ),
        CredentialField(
            "webhook_secret",
            "Webhook signing secret",
            help="whsec_… of the endpoint /webhooks/stripe/<connection id>.",
        ),
        CredentialField(
            "webhook_secret_previous",
            "Previous webhook signing secret",
            help="During a secret rotation only: the old secret, still accepted until removed.",
        ),
    )
    base_url_help = "Empty: https://api.stripe.com (set for localstripe or a gateway)."
    # Stripe allows 100 requests/s in live mode (25 in test mode) per account.
    rate_limits = RateLimitPolicy(windows=((100, 1.0),), max_in_flight=20)

    @cached_property
    def client(self) -> stripe.StripeClient:
        self.check_credentials()
        http = stripe.RequestsClient(
            timeout=(
                settings.INTEGRATIONS_HTTP_CONNECT_TIMEOUT,
                settings.INTEGRATIONS_HTTP_READ_TIMEOUT,
            )
        )
        return stripe.StripeClient(
            self.connection.credentials["secret_key"],
            base_addresses={"api": self.base_url},
            max_network_retries=conf.max_network_retries(),
            http_client=http,
        )

    @cached_property
    def limiter(self):
        return limiter_for(self.connection.pk, self.rate_limits)

    def _call(self, operation: str, fn: Callable[..., Any], *args, **kwargs) -> dict:
        with (
            self.limiter.slot(),
            tracked(self.connection, operation, error_mapper=map_stripe_error) as info,
        ):
            result = fn(*args, **kwargs)
            info["status_code"] = 200
        return result.to_dict(recursive=True) if hasattr(result, "to_dict") else dict(result)

    @staticmethod
    def _options(idempotency_key: str | None) -> dict:
        return {"idempotency_key": idempotency_key} if idempotency_key else {}

    # --- connection ---------------------------------------------------------------------------
    def test_connection(self) -> ConnectionCheck:
        balance = self._call("GET balance", self.client.v1.balance.retrieve)
        mode = "live" if balance.get("livemode") else "test"
        return ConnectionCheck(ok=True, message=f"Connected to Stripe ({mode} mode).")

    # --- customers and saved payment methods --------------------------------------------------
    def customer_create(
        self, *, idempotency_key: str, name: str, email: str, phone: str, metadata: dict
    ) -> str:
        params = {"name": name, "metadata": metadata}
        if email:
            params["email"] = email
        if phone:
            params["phone"] = phone
        data = self._call(
            "POST customer",
            self.client.v1.customers.create,
            params=params,
            options=self._options(idempotency_key),
        )
        return str(data["id"])

    def payment_methods_list(self, *, customer: str, type: str) -> list[RemotePaymentMethod]:
        data = self._call(
            "GET payment_methods",
            self.client.v1.payment_methods.list,
            params={"customer": customer, "type": type},
        )
        return [parse_payment_method(pm) for pm in data.get("data", [])]

    def payment_method_retrieve(self, payment_method: str) -> RemotePaymentMethod:
        data = self._call(
            "GET payment_method", self.client.v1.payment_methods.retrieve, payment_method
        )
        return parse_payment_method(data)

    def payment_method_detach(self, payment_method: str, *, idempotency_key: str) -> None:
        self._call(
            "POST payment_method detach",
            self.client.v1.payment_methods.detach,
            payment_method,
            options=self._options(idempotency_key),
        )

    def setup_intent_create(
        self, *, customer: str, payment_method_types: list[str], idempotency_key: str
    ) -> tuple[str, str]:
        data = self._call(
            "POST setup_intent",
            self.client.v1.setup_intents.create,
            params={
                "customer": customer,
                "payment_method_types": payment_method_types,
                "usage": "off_session",
            },
            options=self._options(idempotency_key),
        )
        return str(data["id"]), str(data.get("client_secret") or "")

    # --- payment intents ----------------------------------------------------------------------
    def intent_create(
        self,
        *,
        idempotency_key: str,
        amount,
        currency: str,
        customer: str,
        payment_method_types: list[str],
        capture_method: str,
        metadata: dict,
        payment_method: str = "",
        save_payment_method: bool = False,
    ) -> RemoteIntent:
        params: dict[str, Any] = {
            "amount": to_minor(amount, currency),
            "currency": currency.lower(),
            "customer": customer,
            "payment_method_types": payment_method_types,
            "capture_method": capture_method,
            "metadata": metadata,
        }
        if "us_bank_account" in payment_method_types:
            # Financial Connections instant verification, micro-deposits when the bank has none.
            params["payment_method_options"] = {
                "us_bank_account": {"verification_method": "automatic"}
            }
        if save_payment_method:
            params["setup_future_usage"] = "off_session"
        if payment_method:
            # A saved card charged on site: confirmed now, the customer is present.
            params["payment_method"] = payment_method
            params["confirm"] = True
        data = self._call(
            "POST payment_intent",
            self.client.v1.payment_intents.create,
            params=params,
            options=self._options(idempotency_key),
        )
        return parse_intent(data)

    def intent_retrieve(self, intent_id: str) -> RemoteIntent:
        return parse_intent(
            self._call("GET payment_intent", self.client.v1.payment_intents.retrieve, intent_id)
        )

    def intent_capture(
        self, intent_id: str, *, amount, currency: str, idempotency_key: str
    ) -> RemoteIntent:
        params = {"amount_to_capture": to_minor(amount, currency)} if amount is not None else {}
        data = self._call(
            "POST payment_intent capture",
            self.client.v1.payment_intents.capture,
            intent_id,
            params=params,
            options=self._options(idempotency_key),
        )
        return parse_intent(data)

    def intent_cancel(self, intent_id: str, *, idempotency_key: str) -> RemoteIntent:
        data = self._call(
            "POST payment_intent cancel",
            self.client.v1.payment_intents.cancel,
            intent_id,
            options=self._options(idempotency_key),
        )
        return parse_intent(data)

    # --- refunds ----------------------------------------------------------------------------
    def refund_create(
        self,
        *,
        idempotency_key: str,
        payment_intent: str,
        amount,
        currency: str,
        reason: str,
        metadata: dict,
    ) -> RemoteRefund:
        params: dict[str, Any] = {
            "payment_intent": payment_intent,
            "amount": to_minor(amount, currency),
            "metadata": {**metadata, "reason": reason},
        }
        if reason in ("duplicate", "fraudulent"):
            # Only these change what Stripe does (fraudulent feeds Radar's block lists); the
            # reason is always kept in metadata for the dashboard.
            params["reason"] = reason
        data = self._call(
            "POST refund",
            self.client.v1.refunds.create,
            params=params,
            options=self._options(idempotency_key),
        )
        return parse_refund(data)

    def refunds_list(self, *, payment_intent: str) -> list[RemoteRefund]:
        data = self._call(
            "GET refunds", self.client.v1.refunds.list, params={"payment_intent": payment_intent}
        )
        return [parse_refund(r) for r in data.get("data", [])]
