import pytest
from django.db import transaction

from apps.integrations import ratelimit
from apps.integrations.http import ApiClient
from apps.integrations.models import ReportSeverity
from apps.integrations.providers import (
    ConnectionCheck,
    Provider,
    RateLimitPolicy,
    RecordFailure,
    SyncOutcome,
    override_provider,
)
from apps.integrations.schema import FieldType, SettingField
from tests import factories as f
from tests.loopback import LoopbackServer


class PingClient(ApiClient):
    rate_limits = RateLimitPolicy(windows=((100, 1.0),), max_in_flight=4)

    def auth_headers(self):
        return {"Authorization": f"Bearer {self.connection.credentials['api_key']}"}


class LoopbackProvider(Provider):
    """A small but real adapter: it talks HTTP to the loopback server through ApiClient."""

    required_credentials = ("api_key",)
    resources = {"customers": "bidirectional", "invoices": "push"}
    setting_fields = (
        SettingField("region", FieldType.CHOICE, default="us", choices=("us", "eu")),
        SettingField("page_size", FieldType.INTEGER, default=50, min_value=1, max_value=500),
        SettingField("push_notes", FieldType.BOOLEAN, default=True),
    )

    def client(self) -> PingClient:
        return PingClient(self.connection)

    def test_connection(self) -> ConnectionCheck:
        body = self.client().get("/ping", operation="GET ping").json()
        return ConnectionCheck(ok=True, message=f"Connected to {body.get('account', '?')}")

    def sync(self, *, resource, sync_log) -> SyncOutcome:
        records = self.client().get(f"/{resource}").json()["records"]
        failures = tuple(
            RecordFailure(record_type=resource, record_id=str(r["id"]), message=r["error"])
            for r in records
            if r.get("error")
        )
        # {"id": 3, "warning": "...", "change": "v2"}: a vendor-side change worth a look, not an
        # error, reported once per change.
        reports = tuple(
            RecordFailure(
                record_type=resource,
                record_id=str(r["id"]),
                message=r["warning"],
                severity=ReportSeverity.WARNING,
                dedupe_key=f"{self.connection.pk}:{r['id']}:{r.get('change', '')}",
            )
            for r in records
            if r.get("warning")
        )
        return SyncOutcome(
            processed=len(records),
            succeeded=len(records) - len(failures),
            failures=failures + reports,
        )


@pytest.fixture
def loopback():
    with LoopbackServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _local_rate_limiter():
    ratelimit.reset_backend(ratelimit.LocalBackend())
    yield
    ratelimit.reset_backend(None)


@pytest.fixture
def provider_key():
    with override_provider("osrm", LoopbackProvider):
        yield "osrm"


@pytest.fixture
def connection(business, loopback, provider_key):
    return f.IntegrationConnectionFactory(
        business=business,
        provider=provider_key,
        name="Loopback",
        api_base_url=loopback.url,
        credentials={"api_key": "key-abcdef123456-secret"},
    )


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run the code, then the on-commit callbacks it registered (Celery is eager in tests)."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            return fn(*args, **kwargs)

    return run
