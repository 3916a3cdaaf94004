import pytest
import requests

from apps.integrations.errors import AuthenticationError, RateLimited, RejectedError, TemporaryError
from apps.integrations.http import ApiClient, error_for_status, parse_retry_after
from apps.integrations.models import ConnectionStatus, IntegrationActivity, Outcome
from tests.integrations.conftest import PingClient
from tests.loopback import Canned, LoopbackServer


def test_success_is_counted_with_status_and_duration(connection, loopback):
    loopback.queue("/ping", Canned(body={"account": "Acme"}))
    response = PingClient(connection).get("/ping")
    assert response.json() == {"account": "Acme"}
    activity = IntegrationActivity.objects.get(connection=connection)
    assert (activity.outcome, activity.status_code, activity.operation) == (
        Outcome.SUCCESS,
        200,
        "GET /ping",
    )
    assert activity.business_id == connection.business_id
    assert loopback.requests[0].headers["Authorization"] == "Bearer key-abcdef123456-secret"


@pytest.mark.parametrize(
    ("status", "error_class", "outcome"),
    [
        (429, RateLimited, Outcome.RATE_LIMITED),
        (500, TemporaryError, Outcome.TEMPORARY_ERROR),
        (503, TemporaryError, Outcome.TEMPORARY_ERROR),
        (401, AuthenticationError, Outcome.AUTH_ERROR),
        (403, AuthenticationError, Outcome.AUTH_ERROR),
        (400, RejectedError, Outcome.REJECTED),
        (422, RejectedError, Outcome.REJECTED),
    ],
)
def test_statuses_map_onto_the_error_tree(connection, loopback, status, error_class, outcome):
    loopback.queue("/thing", Canned(status=status, body={"error": "nope"}))
    with pytest.raises(error_class) as info:
        PingClient(connection).post("/thing", json={})
    assert info.value.status_code == status
    assert IntegrationActivity.objects.get(connection=connection).outcome == outcome


def test_retry_after_seconds_are_honoured_on_429(connection, loopback):
    loopback.queue("/thing", Canned(status=429, headers={"Retry-After": "7"}))
    with pytest.raises(RateLimited) as info:
        PingClient(connection).get("/thing")
    assert info.value.retry_after == 7.0


def test_retry_after_http_date():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: go now
    assert parse_retry_after("garbage") is None
    assert parse_retry_after(None) is None


def test_authentication_failure_marks_connection_needs_reconnect(connection, loopback):
    loopback.queue("/ping", Canned(status=401, body={"error": "invalid_grant"}))
    with pytest.raises(AuthenticationError):
        PingClient(connection).get("/ping")
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_RECONNECT
    assert "invalid_grant" in connection.last_error


def test_secrets_never_stored_in_error_messages(connection, loopback):
    # Some vendors echo the request back in their error body, credentials included.
    loopback.queue("/thing", Canned(status=400, body={"echo": "key-abcdef123456-secret"}))
    with pytest.raises(RejectedError):
        PingClient(connection).get("/thing")
    connection.refresh_from_db()
    stored = IntegrationActivity.objects.get(connection=connection).error_message
    assert "key-abcdef123456-secret" not in stored
    assert "cret" in stored  # the masked tail remains, to recognise which key it was
    assert "key-abcdef123456-secret" not in connection.last_error


def test_read_timeout_is_a_temporary_error(connection, loopback, settings):
    settings.INTEGRATIONS_HTTP_READ_TIMEOUT = 0.2
    loopback.queue("/slow", Canned(delay=1.0))
    with pytest.raises(TemporaryError, match="did not answer in time"):
        PingClient(connection).get("/slow")
    assert IntegrationActivity.objects.get(connection=connection).outcome == Outcome.TEMPORARY_ERROR


def test_connection_refused_is_a_temporary_error(connection):
    with LoopbackServer() as gone:
        url = gone.url
    connection.api_base_url = url
    with pytest.raises(TemporaryError, match="Could not reach"):
        PingClient(connection).get("/ping")


def test_base_url_override_wins_over_default(connection, loopback):
    class Vendor(ApiClient):
        default_base_url = "https://api.vendor.invalid"

    assert Vendor(connection).base_url == loopback.url
    connection.api_base_url = ""
    assert Vendor(connection).base_url == "https://api.vendor.invalid"


def test_error_for_status_success_is_none():
    assert error_for_status(204, "") is None
    assert isinstance(error_for_status(408, "slow"), TemporaryError)


def test_unmapped_exceptions_are_counted_and_reraised(connection):
    class Broken(requests.Session):
        def request(self, *a, **k):
            raise ValueError("bug in adapter")

    with pytest.raises(ValueError):
        PingClient(connection, session=Broken()).get("/x")
    assert IntegrationActivity.objects.get(connection=connection).outcome == Outcome.TEMPORARY_ERROR
