"""Every registered admin page loads, for the platform and for an office user."""

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

REGISTRY = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)
OURS = [
    (model, model_admin)
    for model, model_admin in REGISTRY
    if model._meta.app_label in ("core", "integrations")
]


def _ids(items):
    return [model._meta.label for model, _ in items]


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


@pytest.mark.parametrize(("model", "model_admin"), REGISTRY, ids=_ids(REGISTRY))
def test_platform_superuser_opens_every_changelist_and_add_page(
    model, model_admin, superuser, own, other, client
):
    client.force_login(superuser)
    assert client.get(_url(model, "changelist")).status_code == 200
    if model_admin.has_add_permission(_request(superuser)):
        assert client.get(_url(model, "add")).status_code == 200


@pytest.mark.parametrize(("model", "model_admin"), OURS, ids=_ids(OURS))
def test_platform_superuser_opens_a_change_page_of_every_model(
    model, model_admin, superuser, own, client
):
    client.force_login(superuser)
    obj = model._default_manager.first()
    assert obj is not None, f"the test world has no {model._meta.label}"
    assert client.get(_url(model, "change", obj.pk)).status_code == 200


@pytest.mark.parametrize(("model", "model_admin"), OURS, ids=_ids(OURS))
def test_dispatcher_opens_the_pages_their_role_allows(
    model, model_admin, office_dispatcher, own, client
):
    client.force_login(office_dispatcher)
    request = _request(office_dispatcher)
    changelist = client.get(_url(model, "changelist"))
    if not model_admin.has_view_or_change_permission(request):
        assert changelist.status_code == 403
        return
    assert changelist.status_code == 200
    if model_admin.has_add_permission(request):
        assert client.get(_url(model, "add")).status_code == 200
    obj = model_admin.get_queryset(request).first()
    assert obj is not None, f"the dispatcher's business has no {model._meta.label}"
    assert client.get(_url(model, "change", obj.pk)).status_code == 200


def test_dispatcher_sees_the_dispatch_screens(office_dispatcher):
    from apps.core.models import Customer, WorkOrder
    from apps.integrations.models import IntegrationConnection

    request = _request(office_dispatcher)
    for model in (WorkOrder, Customer):
        assert admin.site._registry[model].has_add_permission(request)
    assert admin.site._registry[IntegrationConnection].has_view_permission(request)
    assert not admin.site._registry[IntegrationConnection].has_add_permission(request)
