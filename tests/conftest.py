import pytest
from django.db import connection

from apps.core import events
from tests import factories as f


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    skip = pytest.mark.skip(reason="needs PostgreSQL (set DATABASE_URL=postgres://...)")
    for item in items:
        if "postgres" in item.keywords and not on_postgres:
            item.add_marker(skip)


@pytest.fixture
def business(db):
    return f.BusinessFactory(slug="acme-hvac", name="Acme HVAC")


@pytest.fixture
def other_business(db):
    return f.BusinessFactory(slug="rival-plumbing", name="Rival Plumbing")


@pytest.fixture
def dispatcher(business):
    return f.UserFactory(business=business, role="dispatcher", is_staff=True)


@pytest.fixture
def technician(business):
    return f.TechnicianFactory(business=business)


@pytest.fixture
def captured_events():
    """Every domain event delivered (after commit) while the test runs."""
    seen: list[object] = []

    def record(event):
        seen.append(event)

    kinds = [
        events.WorkOrderCreated,
        events.WorkOrderStatusChanged,
        events.WorkOrderAssigned,
        events.PaymentRecorded,
    ]
    for kind in kinds:
        events.subscribe(kind)(record)
    yield seen
    for kind in kinds:
        events.unsubscribe(kind, record)


@pytest.fixture
def on_postgres():
    return connection.vendor == "postgresql"
