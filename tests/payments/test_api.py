"""/api/v1/payments/...: the technician app's payment calls, scoped to the caller's business."""

from decimal import Decimal

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.payments.models import SavedPaymentMethod, StripeCustomer, StripePaymentIntent
from tests import factories as f
from tests.payments.conftest import customer_side


def api_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def tech_api(technician):
    return api_for(technician.user)


@pytest.fixture
def office_api(dispatcher):
    return api_for(dispatcher)


def test_create_intent_returns_client_secret(tech_api, stripe_connection, invoice):
    response = tech_api.post(
        f"/api/v1/payments/invoices/{invoice.pk}/payment-intents/", {}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["client_secret"].startswith(body["stripe_payment_intent_id"])
    assert body["publishable_key"] == "pk_test_thorbis_1234567890"
    assert body["amount"] == "250.00" and body["currency"] == "USD"
    assert body["payment_method_types"] == ["card", "us_bank_account"]
    assert body["status"] == "requires_payment_method" and body["recorded"] is False


def test_deposit_then_capture_and_status(tech_api, stripe_connection, invoice, localstripe):
    response = tech_api.post(
        f"/api/v1/payments/invoices/{invoice.pk}/payment-intents/",
        {"amount": "100.00", "capture_method": "manual", "payment_method_types": ["card"]},
        format="json",
    )
    assert response.status_code == 201
    intent_id, stripe_id = response.json()["id"], response.json()["stripe_payment_intent_id"]
    sdk = customer_side(localstripe)
    sdk.v1.payment_intents.update(stripe_id, params={"payment_method": "pm_card_visa"})
    sdk.v1.payment_intents.confirm(stripe_id)
    StripePaymentIntent.objects.filter(pk=intent_id).update(status="requires_capture")
    captured = tech_api.post(
        f"/api/v1/payments/intents/{intent_id}/capture/", {"amount": "60.00"}, format="json"
    )
    assert captured.status_code == 200 and captured.json()["status"] == "succeeded"
    assert captured.json()["client_secret"] == ""  # no longer needed by the app
    again = tech_api.post(f"/api/v1/payments/intents/{intent_id}/capture/", {}, format="json")
    assert again.status_code == 400 and "authorized" in again.json()["detail"]
    assert tech_api.get(f"/api/v1/payments/intents/{intent_id}/").json()["status"] == "succeeded"


def test_bad_input_is_400_and_stores_nothing(tech_api, stripe_connection, invoice):
    url = f"/api/v1/payments/invoices/{invoice.pk}/payment-intents/"
    assert tech_api.post(url, {"amount": "9999.00"}, format="json").status_code == 400
    bad_type = tech_api.post(url, {"payment_method_types": ["bitcoin"]}, format="json")
    assert bad_type.status_code == 400 and "payment_method_types" in bad_type.json()["errors"]
    assert tech_api.post(url, {"capture_method": "later"}, format="json").status_code == 400
    assert tech_api.post(url, {"saved_payment_method": 999}, format="json").status_code == 400
    assert not StripePaymentIntent.objects.exists()


def test_without_stripe_connection_the_app_is_told(tech_api, invoice):
    response = tech_api.post(
        f"/api/v1/payments/invoices/{invoice.pk}/payment-intents/", {}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "payments_not_configured"


def test_declined_card_is_402(tech_api, stripe_connection, invoice, localstripe):
    link = StripeCustomer.objects.create(
        business=invoice.business,
        connection=stripe_connection,
        customer=invoice.customer,
        stripe_id=customer_side(localstripe).v1.customers.create().id,
        idempotency_key="kc",
    )
    sdk = customer_side(localstripe)
    pm = sdk.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4000000000000341", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    sdk.v1.payment_methods.attach(pm.id, params={"customer": link.stripe_id})
    saved = SavedPaymentMethod.objects.create(
        business=invoice.business,
        stripe_customer=link,
        customer=invoice.customer,
        stripe_id=pm.id,
        type="card",
        last4="0341",
    )
    response = tech_api.post(
        f"/api/v1/payments/invoices/{invoice.pk}/payment-intents/",
        {"saved_payment_method": saved.pk, "payment_method_types": ["card"]},
        format="json",
    )
    assert response.status_code == 402 and "declined" in response.json()["detail"]


def test_invoice_payment_state_and_link_summary(tech_api, stripe_connection, invoice):
    tech_api.post(f"/api/v1/payments/invoices/{invoice.pk}/payment-intents/", {}, format="json")
    body = tech_api.get(f"/api/v1/payments/invoices/{invoice.pk}/").json()
    assert body["payment_state"] == "open" and body["balance_due"] == "250.00"
    assert len(body["payment_intents"]) == 1 and body["payment_link"] is None


def test_saved_methods_and_setup_intent(tech_api, stripe_connection, invoice, localstripe):
    customer = invoice.customer
    created = tech_api.post(
        f"/api/v1/payments/customers/{customer.pk}/setup-intents/",
        {"payment_method_types": ["card"]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="tap-1",
    )
    assert created.status_code == 201
    assert created.json()["client_secret"].startswith(created.json()["setup_intent_id"])
    link = StripeCustomer.objects.get(customer=customer)
    sdk = customer_side(localstripe)
    pm = sdk.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 1, "exp_year": 2031, "cvc": "123"},
        }
    )
    sdk.v1.payment_methods.attach(pm.id, params={"customer": link.stripe_id})
    listed = tech_api.get(
        f"/api/v1/payments/customers/{customer.pk}/payment-methods/?refresh=1"
    ).json()
    assert [(m["last4"], m["exp_year"], m["type"]) for m in listed] == [("4242", 2031, "card")]
    # Without refresh the stored list answers, with no Stripe call.
    assert (
        len(tech_api.get(f"/api/v1/payments/customers/{customer.pk}/payment-methods/").json()) == 1
    )


ENDPOINTS = [
    ("get", "/api/v1/payments/invoices/{invoice}/"),
    ("post", "/api/v1/payments/invoices/{invoice}/payment-intents/"),
    ("post", "/api/v1/payments/invoices/{invoice}/payment-link/"),
    ("get", "/api/v1/payments/intents/{intent}/"),
    ("post", "/api/v1/payments/intents/{intent}/capture/"),
    ("post", "/api/v1/payments/intents/{intent}/cancel/"),
    ("get", "/api/v1/payments/customers/{customer}/payment-methods/"),
    ("post", "/api/v1/payments/customers/{customer}/setup-intents/"),
]


@pytest.fixture
def foreign(other_business, make_invoice):
    """Another business's invoice, intent and customer."""
    connection = f.IntegrationConnectionFactory(
        business=other_business,
        provider="stripe",
        name="S",
        credentials={"secret_key": "sk_test_other"},
    )
    invoice = make_invoice(other_business)
    intent = StripePaymentIntent.objects.create(
        business=other_business,
        connection=connection,
        invoice=invoice,
        customer=invoice.customer,
        idempotency_key="kf",
        stripe_id="pi_foreign",
        amount=Decimal("10.00"),
        currency="USD",
        status="requires_capture",
    )
    return {"invoice": invoice.pk, "intent": intent.pk, "customer": invoice.customer_id}


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_other_business_ids_are_404(office_api, foreign, method, url, stripe_connection):
    response = getattr(office_api, method)(url.format(**foreign), {}, format="json")
    assert response.status_code == 404
    assert StripePaymentIntent.objects.filter(business__slug="acme-hvac").count() == 0


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_technician_sees_only_own_jobs(business, make_invoice, method, url, stripe_connection):
    mine = f.TechnicianFactory(business=business)
    theirs = f.TechnicianFactory(business=business)
    invoice = make_invoice(business, tech=theirs)
    intent = StripePaymentIntent.objects.create(
        business=business,
        connection=stripe_connection,
        invoice=invoice,
        customer=invoice.customer,
        idempotency_key="kt",
        stripe_id="pi_theirs",
        amount=Decimal("10.00"),
        currency="USD",
    )
    ids = {"invoice": invoice.pk, "intent": intent.pk, "customer": invoice.customer_id}
    response = getattr(api_for(mine.user), method)(url.format(**ids), {}, format="json")
    assert response.status_code == 404


def test_anonymous_is_refused(client, invoice):
    assert client.post(f"/api/v1/payments/invoices/{invoice.pk}/payment-intents/").status_code in (
        401,
        403,
    )


def test_an_unreachable_stripe_is_503_without_the_sdk_s_words(tech_api, business, invoice):
    from tests.payments.conftest import make_connection
    from tests.payments.fakes import free_port

    make_connection(business, f"http://127.0.0.1:{free_port()}")
    response = tech_api.post(
        f"/api/v1/payments/invoices/{invoice.pk}/payment-intents/", {}, format="json"
    )

    assert response.status_code == 503
    body = response.json()
    assert body == {
        "detail": "Could not reach Stripe. Try again in a moment.",
        "code": "payments_unavailable",
    }
