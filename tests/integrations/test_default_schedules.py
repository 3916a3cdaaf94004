"""Every set-up path gives a connection the same default schedules; the scheduled task waits
quietly for a connection that is not connected yet."""

import io
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient

from apps.accounting.providers.quickbooks import QuickBooksProvider
from apps.core import models as m
from apps.core.admin.permissions import grant_office_permissions
from apps.integrations import models as im
from apps.integrations.services import connection_defaults_ensure, connection_schedules
from apps.integrations.tasks import connection_sync_scheduled_task
from tests import factories as f

pytestmark = pytest.mark.django_db

EXPECTED = {
    "customers": "every 15 minutes",
    "invoices": "every 5 minutes",
    "payments": "every 5 minutes",
    "items": "0 3 * * *",
}


def schedules_of(connection) -> dict[str, str]:
    found = {}
    for task in connection_schedules(connection).select_related("interval", "crontab"):
        resource = task.name.rsplit(":", 1)[1]
        assert json.loads(task.kwargs) == {"connection_id": connection.pk, "resources": [resource]}
        assert task.enabled and task.queue == "sync"
        found[resource] = (
            str(task.interval)
            if task.interval
            else " ".join(
                [
                    task.crontab.minute,
                    task.crontab.hour,
                    task.crontab.day_of_month,
                    task.crontab.month_of_year,
                    task.crontab.day_of_week,
                ]
            )
        )
    return found


@pytest.fixture
def manager(business):
    user = f.UserFactory(business=business, role=m.Role.MANAGER, is_staff=True)
    grant_office_permissions(user)
    return user


def test_cli_setup_gives_the_default_schedules(business):
    call_command(
        "integrations", "setup", "--business", business.slug, "--provider", "quickbooks",
        "--name", "Books", stdout=io.StringIO(),
    )  # fmt: skip
    connection = im.IntegrationConnection.objects.get(name="Books")
    assert schedules_of(connection) == EXPECTED


def test_admin_add_gives_the_default_schedules(client, manager, business):
    client.force_login(manager)
    response = client.post(
        reverse("admin:integrations_integrationconnection_add"),
        {
            "provider": "xero",
            "name": "Xero books",
            "environment": "production",
            "settings": "{}",
            "sync_enabled": "on",
            "replace_credentials": "",
            "account_mappings-TOTAL_FORMS": 0,
            "account_mappings-INITIAL_FORMS": 0,
            "sync_mappings-TOTAL_FORMS": 0,
            "sync_mappings-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    connection = im.IntegrationConnection.objects.get(name="Xero books")
    assert connection.business == business
    assert schedules_of(connection) == EXPECTED


def test_admin_refuses_a_bad_setting_as_a_form_error(client, manager, business):
    client.force_login(manager)
    connection = f.IntegrationConnectionFactory(
        business=business, provider="quickbooks", settings={"company_name": "Acme Books"}
    )
    url = reverse("admin:integrations_integrationconnection_change", args=[connection.pk])
    form = {
        "provider": "quickbooks",
        "name": connection.name,
        "environment": "sandbox",
        "api_base_url": "http://127.0.0.1:9",
        "sync_enabled": "on",
        "replace_credentials": "",
        "account_mappings-TOTAL_FORMS": 0,
        "account_mappings-INITIAL_FORMS": 0,
        "sync_mappings-TOTAL_FORMS": 0,
        "sync_mappings-INITIAL_FORMS": 0,
    }
    page = client.get(url).content.decode()
    assert "invoice_on_completion (boolean)" in page  # the help lists the declared keys

    refused = client.post(
        url, {**form, "settings": json.dumps({"invoice_on_completion": "maybe", "colour": 1})}
    )
    assert refused.status_code == 200
    text = refused.content.decode()
    assert "invoice_on_completion: expected true or false" in text
    assert "colour: unknown for this provider" in text
    bad_key = client.post(url, {**form, "replace_credentials": '{"acess_token": "x-secret-1"}'})
    assert "acess_token: unknown for this provider" in bad_key.content.decode()
    assert "x-secret-1" not in bad_key.content.decode()

    saved = client.post(
        url,
        {
            **form,
            "settings": json.dumps(
                {"invoice_on_completion": "false", "company_name": "Acme Books"}
            ),
        },
    )
    assert saved.status_code == 302
    connection.refresh_from_db()
    assert connection.settings == {"invoice_on_completion": False, "company_name": "Acme Books"}
    assert connection.api_base_url == "http://127.0.0.1:9/v3"


def test_api_setup_gives_the_default_schedules_and_refuses_bad_settings(business, manager):
    api = APIClient()
    api.force_login(manager)
    url = reverse("integration-connection-setup")
    refused = api.post(
        url,
        {"provider": "quickbooks", "name": "Books", "settings": {"sub_customers": "sometimes"}},
        format="json",
    )
    assert refused.status_code == 400
    assert "sub_customers" in refused.json()["detail"]
    assert not im.IntegrationConnection.objects.exists()

    created = api.post(
        url,
        {
            "provider": "quickbooks",
            "name": "Books",
            "api_base_url": "http://127.0.0.1:9",
            "settings": {"invoice_on_completion": "false"},
            "credentials": {"refresh_token": "RT-secret-value-0001"},
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["settings"] == {"invoice_on_completion": False}
    assert body["api_base_url"] == "http://127.0.0.1:9/v3"
    assert body["credentials"] == {"refresh_token": "••••0001"}
    connection = im.IntegrationConnection.objects.get(pk=body["id"])
    assert connection.business == business and schedules_of(connection) == EXPECTED
    again = api.post(url, {"provider": "quickbooks", "name": "Books"}, format="json")
    assert again.status_code == 200 and again.json()["created"] is False


def test_api_setup_is_for_managers(business, dispatcher):
    api = APIClient()
    api.force_login(dispatcher)
    answer = api.post(
        reverse("integration-connection-setup"),
        {"provider": "quickbooks", "name": "Books"},
        format="json",
    )
    assert answer.status_code == 403 and not im.IntegrationConnection.objects.exists()


def test_oauth_connect_gives_the_same_defaults(business, dispatcher, settings):
    from apps.accounting.qbo_fake import QboFake

    settings.PUBLIC_BASE_URL = "http://testserver"
    with QboFake() as qbo:
        connection = f.IntegrationConnectionFactory(
            business=business,
            provider="quickbooks",
            api_base_url=qbo.api_base_url,
            settings={"oauth_discovery_url": qbo.discovery_url},
        )
        api = APIClient()
        api.force_login(dispatcher)
        started = api.get("/api/v1/integrations/quickbooks/auth", {"connection": connection.pk})
        consent = requests.get(started["Location"], allow_redirects=False, timeout=5)
        assert parse_qs(urlsplit(consent.headers["Location"]).query)["code"]
        done = api.get(consent.headers["Location"].replace("http://testserver", ""))
    assert done.status_code == 302
    connection.refresh_from_db()
    assert connection.status == im.ConnectionStatus.CONNECTED
    assert schedules_of(connection) == EXPECTED


def test_ensuring_defaults_keeps_a_schedule_a_person_changed(business):
    connection = f.IntegrationConnectionFactory(business=business, provider="quickbooks")
    connection_defaults_ensure(connection=connection)
    customers = PeriodicTask.objects.get(name=f"integration:{connection.pk}:customers")
    customers.enabled = False
    customers.save()
    PeriodicTask.objects.filter(name=f"integration:{connection.pk}:items").delete()

    created = connection_defaults_ensure(connection=connection)

    assert [t.name for t in created] == [f"integration:{connection.pk}:items"]
    customers.refresh_from_db()
    assert customers.enabled is False


def test_the_scheduled_task_waits_for_a_connection_that_is_not_connected(business, monkeypatch):
    pending = f.IntegrationConnectionFactory(business=business, provider="quickbooks")
    connection_sync_scheduled_task.apply(args=[pending.pk, ["customers"]])
    pending.refresh_from_db()
    assert not im.SyncLog.objects.exists()
    assert pending.status == im.ConnectionStatus.PENDING and mail.outbox == []

    # With a saved sign-in (e.g. a credentials file through the CLI) it runs.
    pending.credentials = {"refresh_token": "RT-1"}
    pending.external_account_id = "4620816365"
    pending.save()
    assert QuickBooksProvider(pending).check_credentials() is None
    sent = []
    monkeypatch.setattr(
        "apps.integrations.services.sync_request",
        lambda **kwargs: sent.append(kwargs["resources"]) or [],
    )
    connection_sync_scheduled_task.apply(args=[pending.pk, ["customers"]])
    assert sent == [["customers"]]
