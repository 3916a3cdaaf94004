"""Connecting over OAuth (state checked, tokens encrypted) and refreshing safely under concurrency."""

import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.core import mail
from django.db import connection as db_connection
from django.db import connections
from rest_framework.test import APIClient

from apps.accounting.models import OAuthState
from apps.accounting.providers.base import InvalidGrant
from apps.accounting.providers.quickbooks import QuickBooksProvider
from apps.accounting.qbo_fake import DEFAULT_REALM
from apps.accounting.services import oauth
from apps.accounting.services.oauth import connection_access_token
from apps.core.errors import DomainError
from apps.integrations import models as im
from apps.integrations.services import connection_schedules, sync_request
from tests import factories as f
from tests.accounting.conftest import qbo_credentials


class _NoProcessLock(dict):
    def __getitem__(self, key):
        return threading.Lock()  # a new lock each time: it never makes anyone wait


AUTH = "/api/v1/integrations/quickbooks/auth"
CALLBACK = "/api/v1/integrations/quickbooks/callback"


@pytest.fixture
def unconnected(business, qbo):
    return f.IntegrationConnectionFactory(
        business=business,
        provider="quickbooks",
        name="New books",
        api_base_url=qbo.api_base_url,
        settings={"oauth_discovery_url": qbo.discovery_url},
    )


@pytest.fixture
def office(dispatcher):
    client = APIClient()
    client.force_login(dispatcher)
    return client


def _consent(response) -> str:
    """Follow the redirect to the fake's consent page, which approves at once."""
    assert response.status_code == 302, response.content
    answer = requests.get(response["Location"], allow_redirects=False, timeout=5)
    assert answer.status_code == 302
    return answer.headers["Location"]


@pytest.mark.django_db
def test_connecting_stores_encrypted_tokens_and_the_company(office, unconnected, qbo):
    started = office.get(AUTH, {"connection": unconnected.pk})
    query = parse_qs(urlsplit(started["Location"]).query)
    assert query["redirect_uri"] == ["http://testserver" + CALLBACK]
    assert query["scope"] == ["com.intuit.quickbooks.accounting"]
    callback = _consent(started)

    done = office.get(callback.replace("http://testserver", ""))

    assert done.status_code == 302 and done["Location"].endswith(f"/{unconnected.pk}/change/")
    unconnected.refresh_from_db()
    assert unconnected.status == im.ConnectionStatus.CONNECTED
    assert unconnected.external_account_id == DEFAULT_REALM
    assert unconnected.credentials["access_token"].startswith("at-")
    assert unconnected.credentials["refresh_token_expires_at"] > time.time() + 90 * 86400
    with db_connection.cursor() as cursor:
        cursor.execute(
            "SELECT credentials FROM integrations_integrationconnection WHERE id = %s",
            [unconnected.pk],
        )
        (stored,) = cursor.fetchone()
    assert unconnected.credentials["refresh_token"] not in stored  # encrypted at rest
    assert {t.name.rsplit(":", 1)[1] for t in connection_schedules(unconnected)} == {
        "customers",
        "items",
        "invoices",
        "payments",
    }
    assert QuickBooksProvider(unconnected).test_connection().ok


@pytest.mark.django_db
def test_a_state_works_once_and_only_for_its_user(office, unconnected, business, qbo):
    callback = _consent(office.get(AUTH, {"connection": unconnected.pk})).replace(
        "http://testserver", ""
    )
    colleague = APIClient()
    colleague.force_login(f.UserFactory(business=business, role="manager"))

    stolen = colleague.get(callback, HTTP_ACCEPT="application/json")
    assert stolen.status_code == 400 and "another user" in stolen.json()["detail"]
    assert office.get(callback).status_code == 302
    again = office.get(callback, HTTP_ACCEPT="application/json")
    assert again.status_code == 400 and "already used" in again.json()["detail"]


@pytest.mark.django_db
def test_a_forged_or_expired_state_is_refused(office, unconnected, qbo):
    forged = office.get(CALLBACK, {"state": "made-up", "code": "x"}, HTTP_ACCEPT="application/json")
    assert forged.status_code == 400 and "not started here" in forged.json()["detail"]

    callback = _consent(office.get(AUTH, {"connection": unconnected.pk})).replace(
        "http://testserver", ""
    )
    OAuthState.objects.update(expires_at="2000-01-01T00:00:00Z")
    late = office.get(callback, HTTP_ACCEPT="application/json")
    assert late.status_code == 400 and "too long" in late.json()["detail"]
    unconnected.refresh_from_db()
    assert unconnected.status == im.ConnectionStatus.PENDING and not unconnected.credentials.get(
        "access_token"
    )


@pytest.mark.django_db
def test_a_cancelled_consent_says_so(office, unconnected, qbo):
    callback = _consent(office.get(AUTH, {"connection": unconnected.pk}))
    state = parse_qs(urlsplit(callback).query)["state"][0]

    answer = office.get(
        CALLBACK, {"state": state, "error": "access_denied"}, HTTP_ACCEPT="application/json"
    )

    assert answer.status_code == 400 and "cancelled" in answer.json()["detail"]


@pytest.mark.django_db
def test_connecting_is_for_office_staff_of_the_business(unconnected, business, other_business, qbo):
    technician = APIClient()
    technician.force_login(f.TechnicianFactory(business=business).user)
    assert technician.get(AUTH, {"connection": unconnected.pk}).status_code == 403

    rival = APIClient()
    rival.force_login(f.UserFactory(business=other_business, role="dispatcher"))
    assert rival.get(AUTH, {"connection": unconnected.pk}).status_code == 404

    assert APIClient().get(AUTH, {"connection": unconnected.pk}).status_code in (401, 403)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_refreshing_at_once_make_one_refresh_call(business, qbo, monkeypatch):
    # Only the database row lock may serialise them here (as between two worker processes).
    monkeypatch.setattr(oauth, "_process_locks", _NoProcessLock())
    credentials = {**qbo_credentials(qbo), "access_token_expires_at": time.time() - 10}
    connection = f.IntegrationConnectionFactory(
        business=business,
        provider="quickbooks",
        api_base_url=qbo.api_base_url,
        external_account_id=DEFAULT_REALM,
        settings={"oauth_discovery_url": qbo.discovery_url},
        credentials=credentials,
        status="connected",
    )
    qbo.oauth.refresh_delay = 0.5  # both workers are inside the refresh window together
    start, tokens, errors = threading.Barrier(2), [], []

    def worker():
        try:
            fresh = im.IntegrationConnection.objects.get(pk=connection.pk)
            start.wait()
            tokens.append(
                connection_access_token(connection=fresh, provider=QuickBooksProvider(fresh))
            )
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert qbo.oauth.refresh_calls == 1
    assert len(set(tokens)) == 1 and qbo.oauth.realm_for_access_token(tokens[0]) == DEFAULT_REALM
    connection.refresh_from_db()
    assert connection.credentials["access_token"] == tokens[0]
    assert connection.credentials["refresh_token"] != credentials["refresh_token"]  # rotated, saved


@pytest.mark.django_db
def test_a_refused_refresh_token_needs_reconnect_and_tells_the_office(
    business, dispatcher, qbo, django_capture_on_commit_callbacks
):
    f.UserFactory(business=business, role="technician", email="tech@example.com")
    credentials = {
        **qbo_credentials(qbo),
        "access_token_expires_at": time.time() - 10,
        "refresh_token": "rt-revoked",
    }
    connection = f.IntegrationConnectionFactory(
        business=business,
        provider="quickbooks",
        api_base_url=qbo.api_base_url,
        external_account_id=DEFAULT_REALM,
        settings={"oauth_discovery_url": qbo.discovery_url},
        credentials=credentials,
        status="connected",
    )

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(InvalidGrant):
        QuickBooksProvider(connection).accounts()

    connection.refresh_from_db()
    assert connection.status == im.ConnectionStatus.NEEDS_RECONNECT
    assert "invalid_grant" in connection.last_error
    (message,) = mail.outbox
    assert message.to == [dispatcher.email]  # office staff only
    assert "needs to be reconnected" in message.subject
    with pytest.raises(DomainError):
        sync_request(connection=connection, resources=["customers"])
