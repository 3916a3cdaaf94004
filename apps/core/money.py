"""Money helpers every app shares: cents, and sums that come back as cents on every database.

SQLite keeps decimals as binary floats and hands an aggregate back unquantized (`183.630000000000`,
`30`), while PostgreSQL's numeric is exact; summing through `money_sum` gives `Decimal("183.63")`
on both, so messages, comparisons and API output do not depend on the database.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import QuerySet, Sum

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def cents(value: Decimal) -> Decimal:
    """Rounded half-up to the cent: the one rounding rule for money."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money_sum(queryset: QuerySet, field: str = "amount") -> Decimal:
    """The sum of a money column over `queryset`, in cents (0.00 when there are no rows)."""
    total = queryset.aggregate(total=Sum(field))["total"]
    return ZERO if total is None else cents(Decimal(total))
