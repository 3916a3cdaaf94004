"""An office user sees, picks and opens only their own business's rows."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from apps.core.admin.permissions import grant_office_permissions
from apps.core.models import Role, WorkOrder
from tests import factories as f

from .conftest import OTHER_MARK, OWN_MARK

OURS = sorted(
    (
        (model, model_admin)
        for model, model_admin in admin.site._registry.items()
        if model._meta.app_label in ("core", "integrations")
    ),
    key=lambda item: item[0]._meta.label,
)
IDS = [model._meta.label for model, _ in OURS]


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


@pytest.mark.parametrize(("model", "model_admin"), OURS, ids=IDS)
def test_changelist_shows_own_rows_and_never_another_business(
    model, model_admin, manager, own, other, client
):
    client.force_login(manager)
    body = client.get(_url(model, "changelist")).content.decode()
    assert OWN_MARK in body
    assert OTHER_MARK not in body


@pytest.mark.parametrize(("model", "model_admin"), OURS, ids=IDS)
def test_another_business_row_answers_like_a_missing_one(
    model, model_admin, manager, own, other, client
):
    client.force_login(manager)
    request = RequestFactory().get("/")
    request.user = manager
    other_rows = model._default_manager.exclude(pk__in=model_admin.get_queryset(request))
    target = other_rows.first()
    assert target is not None, f"the other business has no {model._meta.label}"
    response = client.get(_url(model, "change", target.pk), follow=True)
    missing = client.get(_url(model, "change", 987654321), follow=True)
    assert response.redirect_chain[-1][0] == reverse("admin:index")
    assert response.redirect_chain == missing.redirect_chain
    body = response.content.decode()
    assert "doesn\u2019t exist" in body  # Django's typographic apostrophe
    assert OTHER_MARK not in body


def test_platform_superuser_sees_every_business(superuser, own, other, client):
    client.force_login(superuser)
    body = client.get(_url(WorkOrder, "changelist")).content.decode()
    assert OWN_MARK in body
    assert OTHER_MARK in body
    assert "Rival Plumbing" in body  # the business column is shown to the platform only


def test_business_column_and_field_hidden_from_office_users(office_dispatcher, own, client):
    client.force_login(office_dispatcher)
    body = client.get(_url(WorkOrder, "add")).content.decode()
    assert 'name="business"' not in body
    assert 'name="customer"' in body


def test_foreign_key_choices_are_limited_to_own_business(office_dispatcher, own, other, client):
    client.force_login(office_dispatcher)
    body = client.get(_url(WorkOrder, "add")).content.decode()
    # Category is a plain select: every choice is rendered.
    assert f"HVAC {OWN_MARK}" in body
    assert f"HVAC {OTHER_MARK}" not in body
    assert f"Brazing {OWN_MARK}" in body  # many-to-many choices too
    assert f"Brazing {OTHER_MARK}" not in body


def test_autocomplete_offers_own_customers_only(office_dispatcher, own, other, client):
    client.force_login(office_dispatcher)
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "core", "model_name": "workorder", "field_name": "customer", "term": "Cust"},
    )
    texts = [result["text"] for result in response.json()["results"]]
    assert texts == [f"Customer {OWN_MARK}"]


def test_posting_another_business_foreign_key_is_a_form_error(
    office_dispatcher, own, other, client
):
    client.force_login(office_dispatcher)
    response = client.post(
        _url(WorkOrder, "add"),
        {
            "customer": other.customer.pk,
            "location": own.location.pk,
            "category": own.category.pk,
            "summary": "Sneaky",
            "priority": "normal",
            "estimated_duration_minutes": 60,
            **_empty_inlines(),
        },
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    assert not WorkOrder.objects.filter(summary="Sneaky").exists()


def test_platform_superuser_cannot_mix_businesses(superuser, own, other, client):
    client.force_login(superuser)
    response = client.post(
        _url(WorkOrder, "add"),
        {
            "business": own.business.pk,
            "customer": other.customer.pk,
            "location": other.location.pk,
            "category": own.category.pk,
            "summary": "Mixed",
            "priority": "normal",
            "estimated_duration_minutes": 60,
            **_empty_inlines(),
        },
    )
    assert response.status_code == 200
    assert "belongs to another business" in response.content.decode()
    assert not WorkOrder.objects.filter(summary="Mixed").exists()


def _empty_inlines():
    data = {}
    for prefix in ("lines", "part_requirements", "status_changes"):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    return data


def test_platform_superuser_picks_the_business_when_adding(superuser, own, other, client):
    client.force_login(superuser)
    assert 'name="business"' in client.get(_url(WorkOrder, "add")).content.decode()
    response = client.post(
        _url(WorkOrder, "add"),
        {
            "business": other.business.pk,
            "customer": other.customer.pk,
            "location": other.location.pk,
            "category": other.category.pk,
            "summary": "Booked by the platform",
            "priority": "normal",
            "estimated_duration_minutes": 60,
            **_empty_inlines(),
        },
    )
    assert response.status_code == 302
    created = WorkOrder.objects.get(summary="Booked by the platform")
    assert created.business == other.business
    assert created.number.startswith("WO-")


def test_inline_autocomplete_is_scoped_too(office_dispatcher, own, other, client):
    client.force_login(office_dispatcher)
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "core", "model_name": "lineitem", "field_name": "part", "term": "Capac"},
    )
    assert [r["text"] for r in response.json()["results"]] == [str(own.part)]


def test_password_change_of_another_business_user_is_not_found(
    client, business, other_business, own, other
):
    business_admin = f.UserFactory(business=business, role=Role.ADMIN)
    grant_office_permissions(business_admin)
    client.force_login(business_admin)
    stranger = other.technician.user
    url = reverse("admin:auth_user_password_change", args=[stranger.pk])
    assert client.get(url).status_code == 404
    own_url = reverse("admin:auth_user_password_change", args=[own.technician.user.pk])
    assert client.get(own_url).status_code == 200


def test_per_business_unique_codes_are_form_errors(manager, own, other, client):
    client.force_login(manager)
    add = reverse("admin:core_servicecategory_add")
    data = {
        "code": "hvac",
        "name": "Heating",
        "revenue_category": "HVAC",
        "default_duration_minutes": 60,
    }
    response = client.post(add, data)
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    # The other business has the same code; that is no clash for a new code here.
    response = client.post(add, {**data, "code": "plumbing"})
    assert response.status_code == 302
