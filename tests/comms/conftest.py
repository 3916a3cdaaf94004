import datetime as dt

import pytest
from django.utils import timezone
from twilio.request_validator import RequestValidator

from apps.comms.models import SenderNumber
from apps.comms.testing.twilio_loopback import TwilioLoopback
from apps.integrations import ratelimit
from tests import factories as f
from tests.prism import Prism, prism_binary, unavailable_reason, vendor_spec

TWILIO_SPEC = "twilio/twilio_api_v2010.json"  # in ../shared/vendor-specs
ACCOUNT_SID = "AC" + "1" * 32
AUTH_TOKEN = "twilio-auth-token-secret-123"
PUBLIC = "http://127.0.0.1:8000"


@pytest.fixture(scope="session")
def twilio_server():
    with TwilioLoopback() as server:
        yield server


@pytest.fixture
def twilio(twilio_server):
    twilio_server.requests.clear()
    twilio_server.refuse.clear()
    return twilio_server


@pytest.fixture(autouse=True)
def _twilio_inbox_handler():
    """tests/integrations swaps the "twilio" inbox handler for a stub and removes it afterwards;
    put ours back so the order tests run in (xdist) never matters."""
    from apps.comms.services.inbound import twilio_event_process
    from apps.integrations.inbox import register_handler

    register_handler("twilio")(twilio_event_process)


@pytest.fixture(autouse=True)
def _local_rate_limiter(settings):
    settings.PUBLIC_BASE_URL = PUBLIC
    ratelimit.reset_backend(ratelimit.LocalBackend())
    yield
    ratelimit.reset_backend(None)


def twilio_connection_for(business, url: str, name: str = "Twilio"):
    return f.IntegrationConnectionFactory(
        business=business,
        provider="twilio",
        name=name,
        api_base_url=url,
        external_account_id=ACCOUNT_SID,
        credentials={"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN},
    )


@pytest.fixture
def twilio_connection(business, twilio):
    return twilio_connection_for(business, twilio.url)


@pytest.fixture
def main_sender(business, twilio_connection):
    return SenderNumber.objects.create(
        business=business, role="main", phone="+13035550100", connection=twilio_connection
    )


@pytest.fixture
def emergency_sender(business, twilio_connection):
    return SenderNumber.objects.create(
        business=business,
        role="emergency",
        phone="+13035550199",
        connection=twilio_connection,
        forward_to="+13035550777",
    )


@pytest.fixture
def customer(business):
    return f.CustomerFactory(business=business, sms_opt_in=True, phone="+13035550123")


@pytest.fixture
def location(customer):
    return f.ServiceLocationFactory(customer=customer, business=customer.business)


@pytest.fixture
def daytime(monkeypatch):
    """Freeze "now" at 10:00 in Denver so quiet hours never interfere unless a test wants them."""
    fixed = dt.datetime(2026, 11, 18, 17, 0, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: fixed)
    return fixed


def sign(url: str, params: dict, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def post_twilio(client, path: str, params: dict, *, token: str = AUTH_TOKEN):
    signature = sign(PUBLIC + path, params, token)
    return client.post(path, params, HTTP_X_TWILIO_SIGNATURE=signature)


# --- Prism serving Twilio's official OpenAPI spec ------------------------------------------------
@pytest.fixture(scope="session")
def prism_twilio():
    reason = unavailable_reason(TWILIO_SPEC)
    if reason:
        pytest.skip(reason)
    server = Prism(prism_binary(), vendor_spec(TWILIO_SPEC), name="prism-twilio", start_timeout=90)
    try:
        server.wait_ready()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield server.url
    server.stop()


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    """Run the code, then its on-commit callbacks, repeatedly (Celery is eager in tests)."""
    from django.db import transaction

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            return fn(*args, **kwargs)

    return run


@pytest.fixture
def clock(monkeypatch):
    """A movable "now": clock.set(aware datetime)."""

    class Clock:
        now = dt.datetime(2026, 11, 18, 17, 0, tzinfo=dt.UTC)  # 10:00 in Denver

        def set(self, value):
            self.now = value

    c = Clock()
    monkeypatch.setattr(timezone, "now", lambda: c.now)
    return c
