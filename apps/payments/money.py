"""Decimal amounts <-> Stripe's integer minor units.

Stripe counts money in the currency's smallest unit; a few currencies have none (JPY, KRW...), so
100 yen is `100`, not `10000`. Every conversion goes through here, never `int(amount * 100)`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# https://docs.stripe.com/currencies#zero-decimal
ZERO_DECIMAL = frozenset(
    [
        "BIF",
        "CLP",
        "DJF",
        "GNF",
        "JPY",
        "KMF",
        "KRW",
        "MGA",
        "PYG",
        "RWF",
        "UGX",
        "VND",
        "VUV",
        "XAF",
        "XOF",
        "XPF",
    ]
)
CENT = Decimal("0.01")


def exponent(currency: str) -> int:
    return 0 if currency.upper() in ZERO_DECIMAL else 2


def to_minor(amount: Decimal, currency: str) -> int:
    """12.34 USD -> 1234. Refuses fractions the currency cannot carry instead of rounding money."""
    scaled = Decimal(amount).scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more decimals than {currency.upper()} allows.")
    return int(scaled)


def from_minor(value: int | None, currency: str) -> Decimal:
    """1234 USD -> Decimal('12.34'), always with two places so it compares with model fields."""
    return Decimal(int(value or 0)).scaleb(-exponent(currency)).quantize(CENT, ROUND_HALF_UP)
