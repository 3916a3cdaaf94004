"""Two things monitoring used to blur: a connection that has never worked (it showed as
"Warning") and missing configuration (counted as a temporary error). Now: "Failing", and
"Needs setup" / "Setup incomplete" with what to do, in the error tree, the counts, the pages and
the alerts."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.integrations.activity import outcome_of
from apps.integrations.errors import NotConfigured, TemporaryError
from apps.integrations.models import IntegrationActivity, Outcome, SyncLog
from apps.integrations.providers import Provider, SyncOutcome, override_provider
from apps.integrations.services import connection_sync, sync_request
from apps.monitoring.models import ActivityHourly, Alert
from apps.monitoring.selectors.health import Status, Thresholds, business_health, health_status
from apps.monitoring.services.health_check import health_check_run
from apps.monitoring.services.rollup import activity_rollup_refresh
from tests import factories as f
from tests.monitoring.conftest import log

MIN = dt.timedelta(minutes=1)


def health_of(connection, now):
    report = business_health(business=connection.business, now=now)
    return next(h for h in report.connections if h.key == connection.pk)


class NeedsKey(Provider):
    """A provider that, like the real ones, checks its credentials before calling anyone."""

    required_credentials = ("api_key",)
    resources = {"customers": "pull"}

    def sync(self, *, resource, sync_log):
        self.check_credentials()
        return SyncOutcome(processed=1, succeeded=1)


# --- the error tree and the counts --------------------------------------------------------------
def test_missing_configuration_is_its_own_outcome_not_a_temporary_error():
    assert outcome_of(NotConfigured("Missing credentials: api_key.")) == Outcome.CONFIG_ERROR
    assert outcome_of(TemporaryError("503")) == Outcome.TEMPORARY_ERROR
    assert not issubclass(NotConfigured, TemporaryError)  # never retried


def test_a_sync_without_credentials_fails_at_once_and_says_what_to_do(business):
    with override_provider("quickbooks", NeedsKey):
        connection = f.IntegrationConnectionFactory(business=business, credentials={})
        [log_row] = sync_request(connection=connection, resources=["customers"])
        log_row = connection_sync(sync_log_id=log_row.pk)
    assert log_row.status == SyncLog.Status.FAILED  # not queued to retry
    assert not log_row.message.startswith("Will retry")
    assert "Missing credentials: api_key." in log_row.message
    assert "Replace credentials" in log_row.message  # what to do, and where
    activity = IntegrationActivity.objects.get(connection=connection)
    assert activity.outcome == Outcome.CONFIG_ERROR


def test_setup_errors_are_counted_apart_in_rollups_and_windows(books, now):
    log(books, 2, at=now - 3 * dt.timedelta(hours=1), outcome=Outcome.CONFIG_ERROR, message="x")
    log(books, 1, at=now - 3 * dt.timedelta(hours=1), outcome=Outcome.TEMPORARY_ERROR)
    activity_rollup_refresh(now=now)
    hourly = ActivityHourly.objects.get(connection=books)
    assert (hourly.config_errors, hourly.temporary_errors) == (2, 1)
    counts = health_of(books, now).counts.by_outcome()
    assert counts["config_error"] == 2 and counts["temporary_error"] == 1


# --- health rules -------------------------------------------------------------------------------
def rules(**overrides):
    values = {
        "operations": 3,
        "successes": 0,
        "silent_for": MIN,
        "stale_after": None,
        "needs_reconnect": False,
        "disabled": False,
        "thresholds": Thresholds(),
    }
    return health_status(**{**values, **overrides})


def test_precedence_of_setup_and_never_worked():
    assert rules() == Status.WARNING  # plain numbers alone: some errors, no history known
    assert rules(never_succeeded=True) == Status.FAILING
    assert rules(never_succeeded=True, operations=100) == Status.FAILING  # not merely degraded
    assert rules(needs_setup=True, never_succeeded=True) == Status.NEEDS_SETUP
    assert rules(needs_setup=True, needs_reconnect=True) == Status.NEEDS_RECONNECT
    assert rules(needs_setup=True, disabled=True) == Status.DISABLED


def test_a_connection_that_never_succeeded_is_failing_not_warning(books, now):
    log(books, 3, at=now - MIN, outcome=Outcome.TEMPORARY_ERROR, message="Read timed out")
    health = health_of(books, now)
    assert (health.status, health.status_label) == (Status.FAILING, "Failing")


def test_one_success_long_ago_makes_it_an_ordinary_warning_again(books, now):
    log(books, 1, at=now - dt.timedelta(days=20))
    activity_rollup_refresh(now=now - dt.timedelta(days=19))
    IntegrationActivity.objects.filter(connection=books).delete()  # only the rollup remembers
    log(books, 3, at=now - MIN, outcome=Outcome.TEMPORARY_ERROR, message="Read timed out")
    assert health_of(books, now).status == Status.WARNING


def test_a_success_the_rollups_have_not_reached_yet_still_counts(books, now):
    log(books, 1, at=now - dt.timedelta(days=2))  # no rollup has run
    log(books, 3, at=now - MIN, outcome=Outcome.TEMPORARY_ERROR, message="Read timed out")
    health = health_of(books, now)
    assert health.status == Status.WARNING
    assert health.counts.last_success_at == now - dt.timedelta(days=2)


def test_a_sync_that_once_completed_means_it_worked(books, now):
    books.last_sync_at = now - dt.timedelta(days=3)
    books.save(update_fields=["last_sync_at"])
    log(books, 3, at=now - MIN, outcome=Outcome.REJECTED, message="Customer 4 refused")
    assert health_of(books, now).status == Status.WARNING


def test_a_failed_test_with_no_activity_is_failing(books, now):
    books.last_error = "QuickBooks answered 400: invalid realm"
    books.save(update_fields=["last_error"])
    health = health_of(books, now)
    assert health.status == Status.FAILING
    assert health.last_error == "QuickBooks answered 400: invalid realm"


def test_missing_configuration_is_needs_setup_with_the_reason(books, now):
    message = "Missing credentials: api_key. Add them to the connection, then test it."
    log(books, 2, at=now - MIN, outcome=Outcome.CONFIG_ERROR, message=message)
    health = health_of(books, now)
    assert (health.status, health.status_label) == (Status.NEEDS_SETUP, "Needs setup")
    assert health.last_error == message


# --- alerts and pages ---------------------------------------------------------------------------
def test_health_check_raises_setup_and_never_worked_alerts(business, now):
    setup = f.IntegrationConnectionFactory(business=business, name="Texts")
    broken = f.IntegrationConnectionFactory(business=business, name="Books")
    log(setup, 1, at=now - MIN, outcome=Outcome.CONFIG_ERROR, message="Missing credentials: sid.")
    log(broken, 2, at=now - MIN, outcome=Outcome.TEMPORARY_ERROR, message="Read timed out")
    health_check_run(business=business, now=now)
    alerts = {a.kind: a for a in Alert.objects.filter(business=business)}
    assert set(alerts) == {Alert.Kind.NEEDS_SETUP, Alert.Kind.FAILING}
    assert alerts[Alert.Kind.NEEDS_SETUP].title.endswith("(Texts) is not set up yet")
    assert "retrying will not help" in alerts[Alert.Kind.NEEDS_SETUP].message
    assert "Missing credentials: sid." in alerts[Alert.Kind.NEEDS_SETUP].message
    assert alerts[Alert.Kind.FAILING].title.endswith("(Books) has never worked")
    assert "Read timed out" in alerts[Alert.Kind.FAILING].message


@pytest.fixture
def signed_in_manager(client, manager):
    client.force_login(manager)
    return client


def test_pages_say_failing_and_setup_incomplete(signed_in_manager, business):
    now = timezone.now()
    setup = f.IntegrationConnectionFactory(business=business, name="Texts")
    broken = f.IntegrationConnectionFactory(business=business, name="Books")
    log(setup, 1, at=now - MIN, outcome=Outcome.CONFIG_ERROR, message="Missing credentials: sid.")
    log(broken, 2, at=now - MIN, outcome=Outcome.TEMPORARY_ERROR, message="Read timed out")
    dashboard = signed_in_manager.get("/monitoring/").content.decode()
    assert f'data-connection="{broken.pk}" data-status="failing"' in dashboard
    assert f'data-connection="{setup.pk}" data-status="needs_setup"' in dashboard
    assert (
        ">Failing<" in dashboard and ">Needs setup<" in dashboard and ">Warning<" not in dashboard
    )
    report = signed_in_manager.get("/monitoring/report/?period=24h").content.decode()
    assert "<td>Setup incomplete</td>" in report and "<td>Temporary error</td>" in report
    assert "config_error" not in report and "temporary_error" not in report
