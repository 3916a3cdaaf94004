"""The default hooks: the ETA from routing's applied plan, the payment link from Stripe.

Stripe is Prism serving Stripe's spec on loopback, driven by the real stripe SDK through payments'
services (as payments' own link tests do); Twilio is the comms loopback server.
"""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest

from apps.comms import hooks
from apps.comms.models import CommsSettings, ScheduledMessage
from apps.comms.rendering import context_for, render, template_for
from apps.comms.services.triggers import payment_reminders_plan
from apps.core.models import Invoice
from apps.core.services import work_orders as wos
from apps.integrations.models import ConnectionStatus, ProviderKey
from apps.payments.models import PaymentLink
from apps.routing.models import RoutePlan, RouteStop, TechnicianRoute
from tests import factories as f
from tests.payments import fakes

pytestmark = pytest.mark.django_db
DENVER = zoneinfo.ZoneInfo("America/Denver")


@pytest.fixture(scope="session")
def stripe_fake():
    """Prism serving Stripe's spec, as payments' own link tests use (localstripe has no Prices
    or Payment Links, the two calls a link needs)."""
    reason = fakes.prism_unavailable_reason()
    if reason:
        pytest.skip(reason)
    fake = fakes.start_prism().wait_ready()
    yield fake
    fake.stop()


@pytest.fixture
def stripe_connection(business, stripe_fake, settings):
    settings.PAYMENTS_STRIPE_MAX_NETWORK_RETRIES = 0  # a refused fake must fail at once
    return f.IntegrationConnectionFactory(
        business=business,
        provider=ProviderKey.STRIPE,
        name="Stripe",
        api_base_url=stripe_fake.url,
        status=ConnectionStatus.CONNECTED,
        credentials={
            "secret_key": "sk_test_thorbis_1234567890",
            "publishable_key": "pk_test_thorbis_1234567890",
            "webhook_secret": "whsec_test_current_0123456789",
        },
    )


# --- ETA ----------------------------------------------------------------------------------------
def _en_route_job(location, technician, clock, run_on_commit):
    start = clock.now + dt.timedelta(hours=1)
    wo = run_on_commit(
        wos.work_order_create,
        business=location.business,
        customer=location.customer,
        location=location,
        category=f.ServiceCategoryFactory(business=location.business),
        summary="No heat",
        arrival_window_start=start,
        arrival_window_end=start + dt.timedelta(hours=2),
        assigned_technician=technician,
    )
    run_on_commit(wos.work_order_transition, work_order=wo, to_status="dispatched", by=None)
    return wo


def _planned_stop(wo, technician, eta):
    date = eta.astimezone(DENVER).date()
    plan = RoutePlan.objects.create(
        business=wo.business, date=date, status=RoutePlan.Status.APPLIED, planned_at=eta
    )
    route = TechnicianRoute.objects.create(
        business=wo.business,
        plan=plan,
        technician=technician,
        start_at=eta - dt.timedelta(hours=1),
        end_at=eta + dt.timedelta(hours=8),
        start_latitude=technician.home_latitude,
        start_longitude=technician.home_longitude,
    )
    return RouteStop.objects.create(
        business=wo.business,
        plan=plan,
        route=route,
        technician=technician,
        work_order=wo,
        sequence=1,
        eta=eta,
        service_start=eta,
        departure=eta + dt.timedelta(hours=1),
    )


def test_the_en_route_text_quotes_the_planned_stop_eta(
    location, technician, main_sender, twilio, clock, run_on_commit
):
    wo = _en_route_job(location, technician, clock, run_on_commit)
    _planned_stop(wo, technician, clock.now + dt.timedelta(minutes=23))
    assert hooks.straight_line_eta_minutes(wo) != 25  # so the text below can only be the plan's
    run_on_commit(wos.work_order_transition, work_order=wo, to_status="en_route", by=None)
    [request] = twilio.messages()
    assert "arriving in about 25 min" in request["form"]["Body"]


def test_without_a_usable_planned_stop_the_straight_line_estimate_is_used(
    location, technician, business, clock
):
    wo = f.WorkOrderFactory(location=location, assigned_technician=technician)
    straight = hooks.straight_line_eta_minutes(wo)
    assert straight is not None
    assert hooks.eta_minutes(wo) == straight  # no plan at all
    stop = _planned_stop(wo, technician, clock.now - dt.timedelta(minutes=10))
    assert hooks.eta_minutes(wo) == straight  # the planned ETA has passed unrefreshed
    stop.eta = clock.now + dt.timedelta(minutes=42)
    stop.save(update_fields=["eta"])
    assert hooks.eta_minutes(wo) == 45
    wo.assigned_technician = f.TechnicianFactory(business=business, phone="+13035550143")
    wo.save(update_fields=["assigned_technician"])
    assert hooks.eta_minutes(wo) == hooks.straight_line_eta_minutes(wo)  # reassigned by hand


# --- payment link -------------------------------------------------------------------------------
def _overdue(business, customer, number="INV-7"):
    return Invoice.objects.create(
        business=business,
        customer=customer,
        number=number,
        status="open",
        due_date=dt.date(2026, 11, 1),
        subtotal=Decimal("120.00"),
        total=Decimal("120.00"),
    )


def test_the_reminder_carries_the_stripe_payment_link(
    business, customer, main_sender, twilio, clock, run_on_commit, stripe_connection
):
    CommsSettings.objects.create(
        business=business, payment_url="https://pay.example/{invoice_number}"
    )
    invoice = _overdue(business, customer)
    run_on_commit(payment_reminders_plan)
    link = PaymentLink.objects.get(invoice=invoice, active=True)
    # Made at Stripe for the balance (Prism answers the spec's example values, e.g. "string").
    assert link.url and link.stripe_id
    assert link.amount == Decimal("120.00")
    [request] = twilio.messages()
    assert f"Pay here: {link.url}" in request["form"]["Body"]
    assert "pay.example" not in request["form"]["Body"]


def test_without_stripe_the_reminder_carries_the_configured_page(
    business, customer, main_sender, twilio, clock, run_on_commit
):
    CommsSettings.objects.create(
        business=business, payment_url="https://pay.example/{invoice_number}"
    )
    _overdue(business, customer)
    run_on_commit(payment_reminders_plan)
    [request] = twilio.messages()
    assert "Pay here: https://pay.example/INV-7" in request["form"]["Body"]
    assert not PaymentLink.objects.exists()


def test_the_setting_still_overrides_the_payment_link(
    business, customer, main_sender, twilio, clock, run_on_commit, settings, stripe_connection
):
    settings.COMMS_PAYMENT_LINK_PROVIDER = "tests.comms.test_wiring_providers.fixed_link"
    _overdue(business, customer)
    run_on_commit(payment_reminders_plan)
    [request] = twilio.messages()
    assert "https://elsewhere.example/INV-7" in request["form"]["Body"]
    assert not PaymentLink.objects.exists()


def fixed_link(invoice):
    return f"https://elsewhere.example/{invoice.number}"


def test_a_text_that_does_not_show_the_link_makes_none_at_stripe(
    business, customer, stripe_connection
):
    invoice = _overdue(business, customer)
    rendered = render(
        template_for(business, "service_complete"), context_for(invoice=invoice, with_invoice=True)
    )
    assert "$120.00" in rendered.sms_body
    assert not PaymentLink.objects.exists()
    assert not ScheduledMessage.objects.exists()
