"""Synthetic activity for the benchmark: written with COPY, in time order (as the append-only
table is in production), half of it older than the retention period."""

from __future__ import annotations

import datetime as dt
import random

from django.db import connection

from apps.core.models import Business
from apps.integrations.models import IntegrationConnection

PROVIDERS = ("quickbooks", "twilio", "stripe", "osrm", "xero", "sendgrid")
OUTCOMES = (
    ("success", 0.95),
    ("temporary_error", 0.025),
    ("rate_limited", 0.01),
    ("rejected", 0.01),
    ("auth_error", 0.005),
)
MESSAGES = {
    "temporary_error": ("503 Service Unavailable", "Read timed out (30s)", "502 Bad Gateway"),
    "rate_limited": ("429 Too many requests, retry after {n}s",),
    "rejected": (
        "Invoice INV-{n:05d} rejected: duplicate document number",
        "Customer '{name}' exists (6240)",
        "Item {n} is inactive",
    ),
    "auth_error": ("401 invalid_token",),
}
COLUMNS = (
    "business_id, connection_id, kind, operation, outcome, status_code, duration_ms, "
    "error_message, occurred_at"
)
KINDS = ("api_call", "api_call", "api_call", "sync", "webhook", "message")


def tenants(businesses: int, connections: int) -> list[list[int]]:
    """Businesses with connections spread evenly; returns connection ids per business."""
    rows = Business.objects.bulk_create(
        Business(name=f"Bench {i:02d}", slug=f"bench-{i:02d}", timezone="America/Denver")
        for i in range(businesses)
    )
    made = IntegrationConnection.objects.bulk_create(
        IntegrationConnection(
            business=rows[i % businesses],
            provider=PROVIDERS[(i // businesses) % len(PROVIDERS)],
            name=f"Bench connection {i:03d}",
            status="connected",
        )
        for i in range(connections)
    )
    per_business: list[list[int]] = [[] for _ in rows]
    for conn in made:
        per_business[rows.index(conn.business)].append(conn.pk)
    return [[rows[i].pk, *ids] for i, ids in enumerate(per_business)]


def _line(rng: random.Random, business_id: int, connection_id: int, at: dt.datetime) -> str:
    outcome = rng.choices([o for o, _ in OUTCOMES], [w for _, w in OUTCOMES])[0]
    status = {"success": 200, "temporary_error": 503, "rate_limited": 429, "rejected": 400}.get(
        outcome, 401
    )
    message = ""
    if outcome != "success":
        template = rng.choice(MESSAGES[outcome])
        message = template.format(n=rng.randint(1, 9999), name=f"Customer {rng.randint(1, 500)}")
    duration = min(60000, int(rng.lognormvariate(5.0, 0.8)))
    kind = rng.choice(KINDS)
    return (
        f"{business_id}\t{connection_id}\t{kind}\tGET thing\t{outcome}\t{status}\t{duration}\t"
        f"{message}\t{at.isoformat()}\n"
    )


def activity_copy(
    *,
    tenants: list[list[int]],
    rows: int,
    now: dt.datetime,
    days: int,
    retention_days: int,
    seed: int = 8,
) -> None:
    """`rows` rows: half spread over the retention period, half over the days before it.

    Business i gets a share proportional to 1/(i+1) (a few large businesses, many small), so
    business 0, the one timed, is the busiest.
    """
    rng = random.Random(seed)  # noqa: S311  (synthetic data, reproducible on purpose)
    weights = [1 / (i + 1) for i in range(len(tenants))]
    old_rows = rows // 2
    spans = [
        (now - dt.timedelta(days=days), now - dt.timedelta(days=retention_days), old_rows),
        (now - dt.timedelta(days=retention_days), now, rows - old_rows),
    ]
    with connection.cursor() as cursor:
        for start, end, count in spans:
            seconds = (end - start).total_seconds()
            offsets = sorted(rng.random() * seconds for _ in range(count))
            owners = rng.choices(range(len(tenants)), weights, k=count)
            # Strictly inside the span, so retention's cutoff splits the table exactly.
            stamps = [start + dt.timedelta(seconds=max(o, 0.001)) for o in offsets]
            with cursor.cursor.copy(
                f"COPY integrations_integrationactivity ({COLUMNS}) FROM STDIN"
            ) as copy:
                chunk: list[str] = []
                for stamp, owner in zip(stamps, owners, strict=True):
                    business_id, *connection_ids = tenants[owner]
                    chunk.append(_line(rng, business_id, rng.choice(connection_ids), stamp))
                    if len(chunk) >= 20000:
                        copy.write("".join(chunk))
                        chunk = []
                if chunk:
                    copy.write("".join(chunk))
        cursor.execute("ANALYZE integrations_integrationactivity")
