"""Payments settings, with defaults; none is required (the README lists them)."""

from __future__ import annotations

from django.conf import settings


def get(name: str, default):
    return getattr(settings, name, default)


def webhook_tolerance_s() -> int:
    # Stripe's own default (stripe.Webhook.DEFAULT_TOLERANCE): older signatures are replays.
    return int(get("PAYMENTS_STRIPE_WEBHOOK_TOLERANCE", 300))


def max_network_retries() -> int:
    # Safe because every POST carries our idempotency key.
    return int(get("PAYMENTS_STRIPE_MAX_NETWORK_RETRIES", 2))


def idempotency_namespace() -> str:
    # Keys are derived from our ids; a namespace keeps two installs (or a re-created test
    # database) sharing one Stripe test account from colliding on "pi:1:1".
    return str(get("PAYMENTS_IDEMPOTENCY_NAMESPACE", "thorbis"))


def platform_webhook_secrets() -> list[str]:
    """Secrets for the Connect platform endpoint /webhooks/stripe (current first, then previous)."""
    value = get("PAYMENTS_STRIPE_PLATFORM_WEBHOOK_SECRETS", [])
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",")]
    return [v for v in value if v][:2]


def idempotency_key(*parts: object) -> str:
    return ":".join([idempotency_namespace(), *(str(p) for p in parts)])[:255]


def webhook_drain_interval_s() -> float:
    # How long a web process coalesces drain nudges: the worst extra wait before processing.
    return float(get("PAYMENTS_WEBHOOK_DRAIN_INTERVAL_S", 0.25))


def webhook_secret_cache_s() -> float:
    # How long a web process reuses a connection's decrypted signing secrets. A signature that
    # fails against cached secrets is checked again against fresh ones, so a new secret works
    # at once; a removed one is still accepted for at most this long.
    return float(get("PAYMENTS_WEBHOOK_SECRET_CACHE_S", 5))


def alert_emails_enabled() -> bool:
    # Dispatchers get each payment alert (ACH returned, dispute, failed refund...) by email.
    # Turn off if comms texts them the alerts instead (it can subscribe to PaymentAlertRaised).
    return bool(get("PAYMENTS_ALERT_EMAILS", True))
