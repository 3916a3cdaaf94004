"""Connecting when the vendor fails: every failure lands back on the connection with a plain
message (a JSON client gets it as an error body), never a 500, and nothing stored changes.

The vendor is a loopback server that is down (a closed port), answers 500, or answers garbage.
"""

import socket

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from rest_framework.test import APIClient

from apps.accounting.services.oauth import oauth_state_issue
from apps.integrations import models as im
from tests import factories as f
from tests.loopback import Canned, LoopbackServer

pytestmark = pytest.mark.django_db

QBO_AUTH = "/api/v1/integrations/quickbooks/auth"
QBO_CALLBACK = "/api/v1/integrations/quickbooks/callback"
XERO_AUTH = "/api/v1/integrations/xero/auth"
XERO_CALLBACK = "/api/v1/integrations/xero/callback"
GARBAGE = b"<html><body>502 Bad Gateway (nginx)</body></html>"


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there once the socket is closed


def discovery(base: str, token_endpoint: str) -> dict:
    return {
        "issuer": base,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": token_endpoint,
        "revocation_endpoint": f"{base}/revoke",
        "jwks_uri": f"{base}/jwks",
        "userinfo_endpoint": f"{base}/userinfo",
    }


@pytest.fixture
def office(dispatcher):
    client = APIClient()
    client.force_login(dispatcher)
    return client


@pytest.fixture
def vendor():
    with LoopbackServer() as server:
        yield server


def page_of(connection) -> str:
    return reverse("admin:accounting_accountingconnection_change", args=[connection.pk])


def landed(response, where: str) -> str:
    assert response.status_code == 302, response.content
    assert response["Location"] == where
    return [m.message for m in get_messages(response.wsgi_request)][-1]


def unchanged(connection) -> None:
    connection.refresh_from_db()
    assert connection.status == im.ConnectionStatus.PENDING
    assert "refresh_token" not in connection.credentials
    assert not connection.external_account_id


def _qbo(business, discovery_url):
    return f.IntegrationConnectionFactory(
        business=business,
        provider="quickbooks",
        name="New books",
        settings={"oauth_discovery_url": discovery_url},
    )


@pytest.mark.parametrize("failure", ["down", "500", "garbage", "no endpoints"])
def test_quickbooks_start_with_the_discovery_document_failing(failure, office, business, vendor):
    url = closed_port_url() if failure == "down" else vendor.url + "/discovery"
    answers = {
        "500": Canned(status=500, body={"error": "boom"}),
        "garbage": Canned(body=GARBAGE),
        "no endpoints": Canned(body={"issuer": "x"}),
    }
    for _ in range(2):
        if failure in answers:
            vendor.queue("/discovery", answers[failure])
    connection = _qbo(business, url)

    message = landed(office.get(QBO_AUTH, {"connection": connection.pk}), page_of(connection))
    assert message.startswith("Could not start connecting QuickBooks Online")
    assert "Nothing was changed. Try again in a few minutes" in message
    assert "oauth_discovery_url" in message

    answer = office.get(QBO_AUTH, {"connection": connection.pk}, HTTP_ACCEPT="application/json")
    assert answer.status_code == 502 and answer.json()["code"] == "vendor_failed"
    assert "Could not start connecting" in answer.json()["detail"]
    unchanged(connection)


@pytest.mark.parametrize("failure", ["down", "500", "garbage", "invalid_grant"])
def test_quickbooks_callback_with_the_token_endpoint_failing(
    failure, office, business, dispatcher, vendor
):
    token_url = closed_port_url() if failure == "down" else vendor.url + "/token"
    vendor.queue("/discovery", Canned(body=discovery(vendor.url, token_url)))
    vendor.queue(
        "/token",
        {
            "down": Canned(),
            "500": Canned(status=500, body={"error": "server_error"}),
            "garbage": Canned(body=GARBAGE),
            "invalid_grant": Canned(status=400, body={"error": "invalid_grant"}),
        }[failure],
    )
    connection = _qbo(business, vendor.url + "/discovery")
    state = oauth_state_issue(connection=connection, user=dispatcher)

    response = office.get(QBO_CALLBACK, {"state": state, "code": "c0de", "realmId": "4620816365"})

    message = landed(response, page_of(connection))
    if failure == "invalid_grant":
        assert "refused the sign-in code" in message and "Connect to QuickBooks Online" in message
    else:
        assert message.startswith("Could not finish connecting QuickBooks Online")
        assert "Try again in a few minutes" in message
    unchanged(connection)


def test_quickbooks_callback_denied_consent_and_bad_state_land_with_a_message(
    office, business, dispatcher, vendor
):
    connection = _qbo(business, vendor.url + "/discovery")
    state = oauth_state_issue(connection=connection, user=dispatcher)

    denied = office.get(
        QBO_CALLBACK,
        {"state": state, "error": "access_denied", "error_description": "User denied"},
    )
    message = landed(denied, page_of(connection))
    assert "cancelled at QuickBooks Online (User denied)" in message
    assert "Nothing was changed" in message

    forged = office.get(QBO_CALLBACK, {"state": "made-up", "code": "x"})
    message = landed(forged, reverse("admin:accounting_accountingconnection_changelist"))
    assert "not started here" in message

    reused = office.get(QBO_CALLBACK, {"state": state, "code": "x", "realmId": "1"})
    assert "already used" in landed(
        reused, reverse("admin:accounting_accountingconnection_changelist")
    )
    assert vendor.requests == []  # none of these reached the vendor
    unchanged(connection)


def _xero(business, **credentials):
    return f.IntegrationConnectionFactory(
        business=business, provider="xero", name="Xero books", **credentials
    )


def test_xero_start_without_app_credentials_lands_back_with_what_to_set(office, business, settings):
    settings.XERO_CLIENT_ID = settings.XERO_CLIENT_SECRET = ""
    connection = _xero(business, credentials={})

    message = landed(office.get(XERO_AUTH, {"connection": connection.pk}), page_of(connection))
    assert "Could not start connecting Xero" in message and "XERO_CLIENT_ID" in message
    assert "An administrator must set it" in message

    answer = office.get(XERO_AUTH, {"connection": connection.pk}, HTTP_ACCEPT="application/json")
    assert answer.status_code == 400 and answer.json()["code"] == "not_configured"


@pytest.mark.parametrize(
    "failure", ["token down", "token 500", "token garbage", "identity garbage"]
)
def test_xero_callback_with_the_vendor_failing(
    failure, office, business, dispatcher, vendor, settings
):
    settings.XERO_TOKEN_URL = (
        closed_port_url() + "/connect/token"
        if failure == "token down"
        else vendor.url + "/connect/token"
    )
    settings.XERO_IDENTITY_URL = vendor.url
    tokens = Canned(
        body={"access_token": "at", "refresh_token": "rt", "expires_in": 1800, "scope": "x"}
    )
    vendor.queue(
        "/connect/token",
        {
            "token down": Canned(),
            "token 500": Canned(status=500, body={"error": "server_error"}),
            "token garbage": Canned(body=GARBAGE),
            "identity garbage": tokens,
        }[failure],
    )
    vendor.queue("/connections", Canned(body=GARBAGE))
    connection = _xero(business)
    state = oauth_state_issue(connection=connection, user=dispatcher)

    message = landed(
        office.get(XERO_CALLBACK, {"state": state, "code": "c0de"}), page_of(connection)
    )

    if failure == "identity garbage":  # the SDK reads it as an empty list of organisations
        assert "gave access to no organisation" in message and "Nothing was changed" in message
    else:
        assert message.startswith("Could not finish connecting Xero")
        assert "Nothing was changed. Try again in a few minutes" in message
    unchanged(connection)


def test_xero_callback_denied_consent_answers_json_clients_with_400(office, business, dispatcher):
    connection = _xero(business)
    state = oauth_state_issue(connection=connection, user=dispatcher)
    answer = office.get(
        XERO_CALLBACK,
        {"state": state, "error": "access_denied"},
        HTTP_ACCEPT="application/json",
    )
    assert answer.status_code == 400 and answer.json()["code"] == "cancelled"
    assert "cancelled at Xero" in answer.json()["detail"]
