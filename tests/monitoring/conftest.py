import datetime as dt

import pytest
from django.core.cache import cache

from apps.integrations import ratelimit
from apps.integrations.models import ConnectionStatus, IntegrationActivity
from tests import factories as f

NOW = dt.datetime(2026, 11, 18, 15, 30, tzinfo=dt.UTC)  # a Wednesday


@pytest.fixture(autouse=True)
def _isolated_state():
    ratelimit.reset_backend(ratelimit.LocalBackend())
    cache.clear()
    yield
    ratelimit.reset_backend(None)
    cache.clear()


@pytest.fixture
def now():
    return NOW


@pytest.fixture
def books(business):
    return f.IntegrationConnectionFactory(
        business=business, name="Books", status=ConnectionStatus.CONNECTED
    )


@pytest.fixture
def manager(business):
    return f.UserFactory(
        business=business, role="manager", is_staff=True, email="manager@acme.example"
    )


def log(
    connection,
    count: int = 1,
    *,
    at: dt.datetime,
    outcome: str = "success",
    duration_ms: int = 100,
    message: str = "",
    kind: str = "api_call",
    spread: dt.timedelta = dt.timedelta(0),
) -> list[IntegrationActivity]:
    """`count` activity rows of one connection, at `at` (or spread evenly before it)."""
    step = spread / count if count else dt.timedelta(0)
    rows = [
        IntegrationActivity(
            business_id=connection.business_id,
            connection=connection,
            kind=kind,
            operation="GET thing",
            outcome=outcome,
            duration_ms=duration_ms,
            error_message=message,
            occurred_at=at - step * i,
        )
        for i in range(count)
    ]
    return IntegrationActivity.objects.bulk_create(rows)
