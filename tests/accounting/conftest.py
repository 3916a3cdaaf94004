"""Accounting fixtures: the QuickBooks fake on 127.0.0.1 driven by the real SDKs, and invoices."""

from __future__ import annotations

import time
from decimal import Decimal
from itertools import count

import pytest
from django.db import transaction

from apps.accounting.providers.quickbooks import QuickBooksProvider
from apps.accounting.qbo_fake import DEFAULT_REALM, QboFake
from apps.accounting.services.run import Run
from apps.core import models as m
from apps.core.services.billing import invoice_recalculate
from apps.integrations import models as im
from apps.integrations import ratelimit
from tests import factories as f

_numbers = count(1)


@pytest.fixture(scope="session")
def qbo_server():
    with QboFake() as fake:
        yield fake


@pytest.fixture
def qbo(qbo_server):
    """The fake with empty books, no faults and fast timeouts for each test."""
    qbo_server.reset()
    qbo_server.faults.timeout_delay = 3.5  # longer than the client waits
    qbo_server.oauth.refresh_delay = 0.0
    qbo_server.oauth.client_id = qbo_server.oauth.client_secret = None
    qbo_server.require_auth = True
    qbo_server.enforce_limits = True
    yield qbo_server
    qbo_server.faults.clear()


@pytest.fixture(autouse=True)
def _accounting_settings(settings):
    settings.INTEGRATIONS_HTTP_READ_TIMEOUT = 3.0  # loaded CI machines answer slowly too
    settings.INTEGRATIONS_HTTP_CONNECT_TIMEOUT = 3.0
    settings.PUBLIC_BASE_URL = "http://testserver"
    settings.ACCOUNTING_FLUSH_BUDGET_SECONDS = 60
    settings.ACCOUNTING_FLUSH_WORKERS = 1  # threads cannot see a test's uncommitted rows


@pytest.fixture(autouse=True)
def _local_rate_limiter():
    ratelimit.reset_backend(ratelimit.LocalBackend())
    yield
    ratelimit.reset_backend(None)


def qbo_credentials(fake: QboFake) -> dict:
    tokens = fake.oauth.issue()
    return {
        "client_id": "ABcdEFghIJklMNop1234",
        "client_secret": "s3cr3t-value-do-not-leak-9876",
        "access_token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "access_token_expires_at": time.time() + 3600,
        "refresh_token_expires_at": time.time() + 100 * 86400,
    }


@pytest.fixture
def qbo_connection(business, qbo):
    return f.IntegrationConnectionFactory(
        business=business,
        provider=im.ProviderKey.QUICKBOOKS,
        name="Books",
        api_base_url=qbo.api_base_url,
        external_account_id=DEFAULT_REALM,
        settings={"oauth_discovery_url": qbo.discovery_url},
        credentials=qbo_credentials(qbo),
        status=im.ConnectionStatus.CONNECTED,
    )


@pytest.fixture
def provider(qbo_connection):
    return QuickBooksProvider(qbo_connection)


@pytest.fixture
def run(provider):
    return Run(provider=provider)


@pytest.fixture
def books(qbo):
    return qbo.company(DEFAULT_REALM)


@pytest.fixture
def category(business):
    return f.ServiceCategoryFactory(business=business)


@pytest.fixture
def customer(business):
    return f.CustomerFactory(business=business, display_name="Dana Whitfield")


def make_invoice(
    business,
    customer,
    category,
    *,
    lines=(("Diagnostic visit", "1", "89.00"),),
    tax_rate="0",
    status=m.InvoiceStatus.OPEN,
) -> m.Invoice:
    """An issued invoice with service lines (built directly; the services are tested in core)."""
    invoice = m.Invoice.objects.create(
        business=business,
        number=f"INV-T{next(_numbers):05d}",
        customer=customer,
        status=status,
        tax_rate=Decimal(tax_rate),
        issued_on=m.Business.objects.get(pk=business.pk).created_at.date(),
    )
    for description, quantity, price in lines:
        m.LineItem.objects.create(
            business=business,
            invoice=invoice,
            kind=m.LineItem.Kind.SERVICE,
            description=description,
            quantity=Decimal(quantity),
            unit_price=Decimal(price),
            category=category,
        )
    return invoice_recalculate(invoice=invoice)


@pytest.fixture
def run_on_commit(django_capture_on_commit_callbacks):
    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            return fn(*args, **kwargs)

    return run
