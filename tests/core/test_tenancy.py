"""Tenant isolation helpers: another business's row is answered exactly like a missing one."""

import pytest
from django.http import Http404

from apps.core.models import Customer, WorkOrder
from apps.core.tenancy import NoBusiness, business_of, get_for_business_or_404, scoped
from tests import factories as f


@pytest.fixture
def customers(business, other_business):
    mine = [f.CustomerFactory(business=business, display_name=n) for n in ("Avery", "Blake")]
    theirs = f.CustomerFactory(business=other_business, display_name="Casey")
    return mine, theirs


def test_scoped_model_returns_only_own_rows(business, customers):
    mine, _ = customers
    assert set(scoped(Customer, business=business)) == set(mine)


def test_scoped_queryset_keeps_its_filters(business, customers):
    mine, _ = customers
    narrowed = Customer.objects.filter(display_name__in=["Avery", "Casey"])
    assert list(scoped(narrowed, business=business)) == [mine[0]]


def test_get_returns_own_row(business, customers):
    mine, _ = customers
    assert get_for_business_or_404(Customer, business=business, pk=mine[1].pk) == mine[1]


def _not_found_message(business, **lookup) -> str:
    with pytest.raises(Http404) as caught:
        get_for_business_or_404(Customer, business=business, **lookup)
    return str(caught.value)


def test_other_business_row_looks_missing(business, customers):
    _, theirs = customers
    missing_pk = Customer.objects.order_by("-pk").values_list("pk", flat=True)[0] + 1000

    not_yours = _not_found_message(business, pk=theirs.pk)
    missing = _not_found_message(business, pk=missing_pk)

    assert not_yours == missing == "No customer matches the given query."
    assert str(theirs.pk) not in not_yours


@pytest.mark.parametrize("bad_id", ["abc", "1; DROP TABLE core_customer", "", None])
def test_malformed_id_is_a_404(business, customers, bad_id):
    assert _not_found_message(business, pk=bad_id) == "No customer matches the given query."


def test_get_through_a_queryset(business, customers):
    mine, _ = customers
    active = Customer.objects.filter(display_name="Avery")
    assert get_for_business_or_404(active, business=business, pk=mine[0].pk) == mine[0]
    with pytest.raises(Http404):
        get_for_business_or_404(active, business=business, pk=mine[1].pk)


def test_message_names_the_model(business):
    with pytest.raises(Http404, match=r"^No work order matches the given query\.$"):
        get_for_business_or_404(WorkOrder, business=business, pk=1)


def test_business_of(business, dispatcher):
    assert business_of(dispatcher) == business
    platform = f.UserFactory(business=None, is_superuser=True)
    with pytest.raises(NoBusiness):
        business_of(platform)
