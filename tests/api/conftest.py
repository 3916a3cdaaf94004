import pytest
from django.core.cache import cache

from tests import factories as f
from tests.api.helpers import client_for, work_order_of


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    # Throttle counts live in the cache; a test must not inherit another test's attempts.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def office_client(dispatcher):
    return client_for(dispatcher)


@pytest.fixture
def tech_client(technician):
    return client_for(technician.user)


@pytest.fixture
def foreign_work_order(other_business):
    """Another business's order, assigned and with a line, so nothing about it is empty."""
    rival_tech = f.TechnicianFactory(business=other_business)
    work_order = work_order_of(other_business, assigned_technician=rival_tech)
    f.LineItemFactory(work_order=work_order)
    return work_order
