import hashlib
import hmac
import json
import time
from decimal import Decimal

import pytest
import stripe
from django.db import transaction

from apps.core.models import WorkOrder, WorkOrderStatus
from apps.core.services.billing import invoice_create_for_work_order
from apps.core.services.work_orders import work_order_line_add, work_order_transition
from apps.integrations import ratelimit
from apps.integrations.models import ConnectionStatus, ProviderKey
from tests import factories as f
from tests.payments import fakes

WEBHOOK_SECRET = "whsec_test_current_0123456789"
OLD_WEBHOOK_SECRET = "whsec_test_previous_9876543210"


@pytest.fixture(scope="session")
def localstripe():
    fake = fakes.start_localstripe()
    yield fake
    fake.stop()


_prism: list[fakes.Fake] = []


def pytest_collection_modifyitems(session, config, items):
    # Prism needs ~30 s to load Stripe's spec: start it as soon as we know a test wants it.
    wanted = any("prism" in getattr(item, "fixturenames", ()) for item in items)
    if wanted and not _prism and fakes.prism_unavailable_reason() is None:
        _prism.append(fakes.start_prism())


def pytest_sessionfinish(session, exitstatus):
    while _prism:
        _prism.pop().stop()


@pytest.fixture(scope="session")
def prism():
    reason = fakes.prism_unavailable_reason()
    if reason:
        pytest.skip(reason)
    if not _prism:
        _prism.append(fakes.start_prism())
    return _prism[0].wait_ready()


@pytest.fixture(autouse=True)
def _stripe_inbox_handler():
    # tests/integrations/test_inbox.py registers its own "stripe" handler and unregisters it
    # afterwards, which leaves none; put ours back for every payments test.
    from apps.integrations.inbox import register_handler
    from apps.payments.webhooks.handlers import stripe_event_process

    register_handler("stripe")(stripe_event_process)


@pytest.fixture(autouse=True)
def _payments_settings(settings):
    from apps.payments.webhooks import nudge, views

    settings.PAYMENTS_STRIPE_MAX_NETWORK_RETRIES = 0  # a refused fake must fail at once
    # Eager Celery: every stored event drains at once (no coalescing window) in these tests.
    settings.PAYMENTS_WEBHOOK_DRAIN_INTERVAL_S = 0
    nudge.reset()
    views.endpoint_cache_clear()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    ratelimit.reset_backend(ratelimit.LocalBackend())
    yield
    ratelimit.reset_backend(None)


def make_connection(business, url, **overrides):
    values = {
        "business": business,
        "provider": ProviderKey.STRIPE,
        "name": "Stripe",
        "api_base_url": url,
        "status": ConnectionStatus.CONNECTED,
        "credentials": {
            "secret_key": "sk_test_thorbis_1234567890",
            "publishable_key": "pk_test_thorbis_1234567890",
            "webhook_secret": WEBHOOK_SECRET,
        },
    }
    values.update(overrides)
    return f.IntegrationConnectionFactory(**values)


@pytest.fixture
def stripe_connection(business, localstripe):
    return make_connection(business, localstripe.url)


@pytest.fixture
def prism_connection(business, prism):
    return make_connection(business, prism.url, name="Stripe (contract)")


@pytest.fixture
def make_invoice(technician):
    """An open invoice of `amount` for a completed work order of the given business."""

    def make(business, amount=Decimal("250.00"), tech=None):
        tech = tech or (
            technician
            if technician.business_id == business.pk
            else f.TechnicianFactory(business=business)
        )
        work_order = f.WorkOrderFactory(
            location__customer__business=business, assigned_technician=tech
        )
        WorkOrder.objects.filter(pk=work_order.pk).update(status=WorkOrderStatus.ON_SITE)
        work_order.refresh_from_db()
        work_order_line_add(
            work_order=work_order,
            kind="service",
            description="Repair",
            quantity=Decimal("1"),
            unit_price=amount,
            taxable=False,
        )
        work_order_transition(
            work_order=work_order, to_status=WorkOrderStatus.COMPLETED, by=tech.user
        )
        return invoice_create_for_work_order(work_order=work_order)

    return make


@pytest.fixture
def invoice(business, make_invoice):
    return make_invoice(business)


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            return fn(*args, **kwargs)

    return run


def stripe_signature(payload: str, secret: str, timestamp: int | None = None) -> str:
    """Stripe's v1 scheme, computed as Stripe documents it: HMAC-SHA256 of "<t>.<payload>"."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


_event_counter = [0]


def stripe_event(
    event_type: str,
    obj: dict,
    *,
    created: int | None = None,
    event_id: str | None = None,
    account: str | None = None,
) -> dict:
    _event_counter[0] += 1
    event = {
        "id": event_id or f"evt_test_{_event_counter[0]:06d}_{int(time.time() * 1000)}",
        "object": "event",
        "type": event_type,
        "created": created or int(time.time()),
        "livemode": False,
        "api_version": "2026-10-28.endive",
        "data": {"object": obj},
    }
    if account:
        event["account"] = account
    return event


@pytest.fixture
def post_event(client, django_capture_on_commit_callbacks):
    """POST a signed event to /webhooks/stripe/<connection> and run the worker (eager Celery)."""

    def post(
        connection,
        event: dict,
        *,
        secret: str = WEBHOOK_SECRET,
        timestamp: int | None = None,
        path: str | None = None,
    ):
        body = json.dumps(event)
        url = path or f"/webhooks/stripe/{connection.pk}"
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                url,
                data=body,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=stripe_signature(body, secret, timestamp),
            )

    return post


def intent_object(
    record=None,
    *,
    id=None,
    status="succeeded",
    amount=None,
    amount_received=None,
    currency="usd",
    metadata=None,
    types=("card",),
    failure=None,
    capture_method="automatic",
    latest_charge=None,
):
    """A PaymentIntent as Stripe sends it in webhooks (current API shape)."""
    amount_minor = int((amount if amount is not None else record.amount) * 100)
    received = (
        amount_received
        if amount_received is not None
        else (amount_minor if status == "succeeded" else 0)
    )
    meta = (
        metadata
        if metadata is not None
        else (
            {
                "thorbis_invoice_id": str(record.invoice_id),
                "thorbis_business_id": str(record.business_id),
            }
            if record
            else {}
        )
    )
    return {
        "id": id or record.stripe_id,
        "object": "payment_intent",
        "amount": amount_minor,
        "amount_received": received,
        "currency": currency,
        "status": status,
        "capture_method": capture_method,
        "payment_method_types": list(types),
        "latest_charge": latest_charge,
        "last_payment_error": {"message": failure} if failure else None,
        "created": int(time.time()) - 60,
        "metadata": meta,
        "client_secret": "pi_secret_in_webhook",
    }


def customer_side(fake) -> stripe.StripeClient:
    """The real SDK pointed at the fake, standing in for Stripe.js / the Payment Element, which
    confirm payments in the customer's browser or the technician's phone (not through our code)."""
    return stripe.StripeClient(
        "sk_test_thorbis_1234567890", base_addresses={"api": fake.url}, max_network_retries=0
    )
