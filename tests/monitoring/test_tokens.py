"""OAuth token refresh ahead of expiry, through the refresher registry (a fake refresher here;
accounting registers the real ones)."""

import datetime as dt

import pytest

from apps.core.timezones import format_local, zone_of
from apps.integrations.errors import AuthenticationError, TemporaryError
from apps.integrations.models import ConnectionStatus
from apps.integrations.tokens import (
    register_token_refresher,
    token_expiry,
    unregister_token_refresher,
)
from apps.monitoring.models import Alert
from apps.monitoring.services.tokens import oauth_tokens_refresh, token_refresh_due
from tests import factories as f

HOUR = dt.timedelta(hours=1)


def oauth(business, name, *, refresh_in=None, access_expired=None, status="connected"):
    credentials = {"access_token": "at-" + name, "refresh_token": "rt-secret-" + name}
    if refresh_in is not None:
        credentials["refresh_token_expires_at"] = (dt.datetime.now(dt.UTC) + refresh_in).timestamp()
    if access_expired is not None:
        credentials["access_token_expires_at"] = (
            dt.datetime.now(dt.UTC) - access_expired
        ).timestamp()
    return f.IntegrationConnectionFactory(
        business=business, provider="xero", name=name, credentials=credentials, status=status
    )


class FakeRefresher:
    def __init__(self, error=None):
        self.calls, self.error = [], error

    def __call__(self, connection):
        self.calls.append(connection.pk)
        if self.error:
            raise self.error
        connection.credentials = {
            **connection.credentials,
            "refresh_token_expires_at": (dt.datetime.now(dt.UTC) + 60 * 24 * HOUR).timestamp(),
        }
        connection.save(update_fields=["credentials"])


@pytest.fixture
def refresher():
    fake = FakeRefresher()
    register_token_refresher("xero", fake)
    yield fake
    unregister_token_refresher("xero")


def test_refreshes_only_what_is_due(business, refresher):
    lapsing = oauth(business, "lapsing", refresh_in=6 * 24 * HOUR)
    fresh = oauth(business, "fresh", refresh_in=50 * 24 * HOUR)
    idle = oauth(business, "idle", access_expired=8 * 24 * HOUR)
    recent = oauth(business, "recent", access_expired=2 * HOUR)
    oauth(business, "gone", refresh_in=HOUR, status=ConnectionStatus.DISABLED)
    f.IntegrationConnectionFactory(business=business, provider="twilio", name="not oauth")

    result = oauth_tokens_refresh()

    assert sorted(refresher.calls) == sorted([lapsing.pk, idle.pk])
    assert sorted(result.refreshed) == sorted([lapsing.pk, idle.pk])
    lapsing.refresh_from_db()
    assert not token_refresh_due(lapsing, dt.datetime.now(dt.UTC))
    assert fresh.pk not in refresher.calls and recent.pk not in refresher.calls


def test_a_refused_grant_means_reconnect_with_one_alert(business, refresher):
    refresher.error = AuthenticationError("invalid_grant: refresh token rt-secret-lapsing revoked")
    lapsing = oauth(business, "lapsing", refresh_in=HOUR)

    oauth_tokens_refresh()
    oauth_tokens_refresh()  # skipped now: the connection needs a person first

    lapsing.refresh_from_db()
    assert lapsing.status == ConnectionStatus.NEEDS_RECONNECT
    assert refresher.calls == [lapsing.pk]
    (alert,) = Alert.objects.all()
    assert (alert.kind, alert.key) == (Alert.Kind.NEEDS_RECONNECT, f"needs_reconnect:{lapsing.pk}")
    assert "rt-secret-lapsing" not in alert.message  # credentials are redacted


def test_temporary_failure_near_expiry_warns_and_success_resolves(business, refresher):
    refresher.error = TemporaryError("identity.xero.com timed out")
    lapsing = oauth(business, "lapsing", refresh_in=20 * HOUR)

    result = oauth_tokens_refresh()
    assert result.failed == [lapsing.pk]
    alert = Alert.objects.get(kind=Alert.Kind.TOKEN_EXPIRING)
    assert alert.is_open
    # When it lapses, in the business's clock (the refresh runs in a worker, in UTC).
    _, expires = token_expiry(lapsing.credentials)
    assert alert.title.endswith(f"lapses {format_local(expires, zone=zone_of(business))}")
    assert alert.title.endswith(("MST", "MDT"))

    refresher.error = None
    oauth_tokens_refresh()
    alert.refresh_from_db()
    assert alert.resolved_at is not None


def test_temporary_failure_far_from_expiry_just_waits(business, refresher):
    refresher.error = TemporaryError("timeout")
    oauth(business, "lapsing", refresh_in=100 * HOUR)
    oauth_tokens_refresh()
    assert not Alert.objects.exists()


def test_providers_without_a_refresher_are_left_alone(business):
    oauth(business, "lapsing", refresh_in=HOUR)
    assert oauth_tokens_refresh().refreshed == []
