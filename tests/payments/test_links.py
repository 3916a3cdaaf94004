"""payment_link_get_or_create as comms' payment-link provider: the failures it promises.

The success path runs against Prism (Stripe's spec) in test_prism_contract.
"""

import pytest

from apps.core.errors import DomainError
from apps.core.models import InvoiceStatus
from apps.core.services.billing import payment_record
from apps.integrations.models import ConnectionStatus
from apps.payments.errors import PaymentLinkUnavailable
from apps.payments.models import PaymentLink
from apps.payments.services.links import payment_link_get_or_create
from tests.payments.conftest import make_connection
from tests.payments.test_api import api_for


def test_no_stripe_connection_raises_payment_link_unavailable(invoice):
    with pytest.raises(PaymentLinkUnavailable) as caught:
        payment_link_get_or_create(invoice=invoice)
    assert caught.value.code == "payments_not_configured"
    assert isinstance(caught.value, DomainError)  # what comms' hook already catches
    assert not PaymentLink.objects.exists()


@pytest.mark.parametrize("status", [ConnectionStatus.DISABLED, ConnectionStatus.NEEDS_RECONNECT])
def test_unusable_connection_is_not_configured(business, invoice, status):
    make_connection(business, "http://127.0.0.1:9", status=status)
    with pytest.raises(PaymentLinkUnavailable) as caught:
        payment_link_get_or_create(invoice=invoice)
    assert caught.value.code == "payments_not_configured"


def test_paid_invoice_has_nothing_to_pay(business, invoice):
    make_connection(business, "http://127.0.0.1:9")
    payment_record(invoice=invoice, amount=invoice.balance_due, method="cash")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    with pytest.raises(PaymentLinkUnavailable) as caught:
        payment_link_get_or_create(invoice=invoice)
    assert caught.value.code == "nothing_to_pay"


def test_api_answers_400_with_the_code(dispatcher, invoice):
    response = api_for(dispatcher).post(f"/api/v1/payments/invoices/{invoice.pk}/payment-link/")
    assert response.status_code == 400
    assert response.json()["code"] == "payments_not_configured"
