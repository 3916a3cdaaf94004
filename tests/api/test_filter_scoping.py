"""Filters choose only among the caller's business's rows: another business's id answers exactly
like a missing id (same status, same body), in every filter of every API list."""

from __future__ import annotations

import django_filters
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, URLResolver, get_resolver
from django_filters.filters import QuerySetRequestMixin
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.generics import GenericAPIView

from apps.core.api.filtering import BusinessFilterBackend, BusinessFilterSet
from apps.core.models import WorkOrder
from apps.diagnostics.models import Reading
from tests import factories as f
from tests.api.helpers import client_for, work_order_of

# Every foreign-key filter of the API, and the test below that proves it is scoped. A new one
# fails test_every_model_filter_is_known until it is added here (and so tested).
MODEL_FILTERS = {
    ("WorkOrderViewSet", "assigned_technician"),
    ("ReadingViewSet", "work_order"),
    ("ReadingViewSet", "equipment"),
}


def _api_views(patterns=None, prefix=""):
    """(route, view class) of every DRF view under /api/."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _api_views(entry.url_patterns, route)
        elif isinstance(entry, URLPattern) and route.lstrip("^").startswith("api/"):
            cls = getattr(entry.callback, "cls", None)
            if cls is not None and issubclass(cls, GenericAPIView):
                yield route, cls


def _filtersets():
    for route, cls in _api_views():
        backends = cls.filter_backends
        for backend in backends:
            if issubclass(backend, DjangoFilterBackend):
                assert issubclass(backend, BusinessFilterBackend), (route, backend)
        if not any(issubclass(b, DjangoFilterBackend) for b in backends):
            continue
        queryset = cls.queryset.all() if cls.queryset is not None else None
        filterset = BusinessFilterBackend().get_filterset_class(cls(), queryset)
        if filterset is not None:
            yield route, cls, filterset


def test_every_api_filterset_is_a_business_filterset(db):
    found = list(_filtersets())
    assert found, "the walk should find the work-order and readings filters"
    for route, _cls, filterset in found:
        assert issubclass(filterset, BusinessFilterSet), route


def test_every_model_filter_is_known(db):
    model_filters = {
        (cls.__name__, name)
        for _route, cls, filterset in _filtersets()
        for name, flt in filterset.base_filters.items()
        if isinstance(flt, QuerySetRequestMixin)
    }
    assert model_filters == MODEL_FILTERS


def _same(client, url, name, foreign_id, missing_id):
    foreign = client.get(url, {name: foreign_id})
    missing = client.get(url, {name: missing_id})
    assert foreign.status_code == missing.status_code == 400, foreign.content
    assert foreign.content == missing.content
    assert name in foreign.json()["errors"]


@pytest.fixture
def rival(other_business):
    technician = f.TechnicianFactory(business=other_business)
    work_order = work_order_of(other_business, assigned_technician=technician)
    equipment = f.EquipmentFactory(location=work_order.location)
    return technician, work_order, equipment


def _missing(model) -> int:
    return (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 10_000


def test_readings_by_another_business_work_order_answer_like_a_missing_one(
    dispatcher, technician, rival
):
    _tech, work_order, _equipment = rival
    for user in (dispatcher, technician.user):
        _same(
            client_for(user),
            "/api/v1/diagnostics/readings/",
            "work_order",
            work_order.pk,
            _missing(WorkOrder),
        )


def test_readings_by_another_business_equipment_answer_like_a_missing_one(
    dispatcher, technician, rival
):
    from apps.core.models import Equipment

    _tech, _work_order, equipment = rival
    for user in (dispatcher, technician.user):
        _same(
            client_for(user),
            "/api/v1/diagnostics/readings/",
            "equipment",
            equipment.pk,
            _missing(Equipment),
        )


def test_a_technician_filtering_by_a_colleagues_job_learns_nothing(business, technician):
    colleague = f.TechnicianFactory(business=business)
    theirs = work_order_of(business, assigned_technician=colleague)
    mine = work_order_of(business, assigned_technician=technician)
    client = client_for(technician.user)
    _same(client, "/api/v1/diagnostics/readings/", "work_order", theirs.pk, _missing(WorkOrder))
    own = client.get("/api/v1/diagnostics/readings/", {"work_order": mine.pk})
    assert own.status_code == 200 and own.json()["results"] == []


def test_readings_filtered_by_own_work_order_and_equipment(dispatcher, business, rival):
    work_order = work_order_of(business)
    equipment = f.EquipmentFactory(location=work_order.location)
    client = client_for(dispatcher)
    for params in ({"work_order": work_order.pk}, {"equipment": equipment.pk}):
        response = client.get("/api/v1/diagnostics/readings/", params)
        assert response.status_code == 200, response.content
    assert Reading.objects.count() == 0


def test_work_orders_by_another_business_technician_answer_like_a_missing_one(dispatcher, rival):
    from apps.core.models import Technician

    technician, _work_order, _equipment = rival
    _same(
        client_for(dispatcher),
        "/api/v1/work-orders/",
        "assigned_technician",
        technician.pk,
        _missing(Technician),
    )


def test_a_filter_over_rows_without_a_business_must_say_so(dispatcher):
    from apps.core.models import Business

    class Careless(BusinessFilterSet):
        tenant = django_filters.ModelChoiceFilter(
            queryset=Business.objects.all(), field_name="business"
        )

        class Meta:
            model = WorkOrder
            fields = ["tenant"]

    request = type("R", (), {"user": dispatcher})()
    with pytest.raises(ImproperlyConfigured, match="dangerously_unscoped_choices"):
        Careless(data={}, queryset=WorkOrder.objects.none(), request=request)


def test_the_backend_refuses_a_plain_filterset():
    class Plain(django_filters.FilterSet):
        class Meta:
            model = WorkOrder
            fields = ["status"]

    view = type("View", (), {"filterset_class": Plain})()
    with pytest.raises(ImproperlyConfigured, match="BusinessFilterSet"):
        BusinessFilterBackend().get_filterset_class(view, WorkOrder.objects.none())
