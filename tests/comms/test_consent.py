"""Consent keywords (every one), plain-language opt-outs, HELP, and the check before each send."""

import datetime as dt

import pytest

from apps.comms.models import ConsentRecord, ScheduledMessage
from apps.comms.services.consent import classify_reply
from apps.comms.services.outbox import message_schedule
from apps.core.services import work_orders as wos
from tests import factories as f
from tests.comms.conftest import post_twilio

pytestmark = pytest.mark.django_db
OPT_OUT = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"]


@pytest.mark.parametrize(
    "word", [*OPT_OUT, "stop", " Stop. ", "no more texts", "Please stop texting me"]
)
def test_opt_out_keywords(word):
    assert classify_reply(word) == "opt_out"


@pytest.mark.parametrize("word", ["START", "YES", "UNSTOP", "start"])
def test_opt_in_keywords(word):
    assert classify_reply(word) == "opt_in"


@pytest.mark.parametrize("word", ["HELP", "INFO", "help"])
def test_help_keywords(word):
    assert classify_reply(word) == "help"


@pytest.mark.parametrize("text", ["STOP PLEASE by the gate", "don't stop the repair", "Yes at 3?"])
def test_sentences_are_conversation_not_keywords(text):
    assert classify_reply(text) == "message"


def _inbound(client, body, sid, to="+13035550100"):
    return post_twilio(
        client,
        "/webhooks/twilio/sms",
        {"MessageSid": sid, "From": "+13035550123", "To": to, "Body": body},
    )


@pytest.mark.parametrize("word", OPT_OUT)
def test_each_opt_out_keyword_opts_out_across_every_number(
    client,
    business,
    customer,
    main_sender,
    twilio_connection,
    word,
    django_capture_on_commit_callbacks,
):
    from apps.comms.models import SenderNumber

    SenderNumber.objects.create(
        business=business, role="main", phone="+13035550101", connection=twilio_connection
    )
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(client, word, f"SM-{word}", to="+13035550101")
    record = ConsentRecord.objects.get(business=business, phone="+13035550123")
    assert record.status == "opted_out"
    assert record.events.get().detail == word
    customer.refresh_from_db()
    assert customer.sms_opt_in is False  # the customer form shows it too
    from apps.comms.services.consent import sms_refusal

    assert (
        sms_refusal(business=business, phone="+13035550123", customer=customer)
        == "recipient opted out"
    )


@pytest.mark.parametrize("word", ["START", "YES", "UNSTOP"])
def test_opt_in_keywords_restore_texting(
    client, business, customer, main_sender, word, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _inbound(client, "STOP", "SM1")
        _inbound(client, word, "SM2")
    record = ConsentRecord.objects.get(business=business, phone="+13035550123")
    assert record.status == "opted_in"
    assert list(record.events.values_list("status", flat=True)) == ["opted_out", "opted_in"]


@pytest.mark.parametrize("word", ["HELP", "INFO"])
def test_help_answers_with_the_business_help_text(client, business, main_sender, word):
    from apps.comms.models import CommsSettings

    CommsSettings.objects.create(business=business, help_text="Acme HVAC help: call 303-555-0100.")
    response = _inbound(client, word, f"SMh-{word}")
    assert "<Message>Acme HVAC help: call 303-555-0100.</Message>" in response.content.decode()


def test_default_help_text_names_the_business(client, business, main_sender):
    body = _inbound(client, "HELP", "SMh").content.decode()
    assert "Acme HVAC" in body and "STOP" in body


def test_no_send_to_an_opted_out_number(
    business, customer, location, main_sender, twilio, clock, run_on_commit
):
    from apps.comms.services.consent import consent_set

    consent_set(business=business, phone="+13035550123", status="opted_out", source="admin")
    wo = f.WorkOrderFactory(
        location=location, business=business, customer=customer, priority="emergency"
    )
    [msg] = run_on_commit(
        message_schedule,
        business=business,
        kind="emergency_response",
        audience="customer",
        dedupe_key="x",
        due_at=clock.now,
        urgent=True,
        work_order=wo,
    )
    msg.refresh_from_db()
    assert (msg.status, msg.reason) == ("skipped", "recipient opted out")
    assert twilio.messages() == []


def test_customer_who_never_agreed_gets_no_text(
    business, location, main_sender, twilio, clock, run_on_commit
):
    location.customer.sms_opt_in = False
    location.customer.save()
    wo = f.WorkOrderFactory(location=location, business=business, customer=location.customer)
    [msg] = run_on_commit(
        message_schedule,
        business=business,
        kind="emergency_response",
        audience="customer",
        dedupe_key="y",
        due_at=clock.now,
        urgent=True,
        work_order=wo,
    )
    msg.refresh_from_db()
    assert msg.status == "skipped" and "not agreed" in msg.reason


def test_twilio_21610_on_send_marks_opted_out_and_is_not_retried(
    business, customer, location, technician, main_sender, twilio, clock, run_on_commit
):
    twilio.refuse["+13035550123"] = "21610"
    wo = run_on_commit(
        wos.work_order_create,
        business=business,
        customer=customer,
        location=location,
        category=f.ServiceCategoryFactory(business=business),
        summary="Leak",
        priority="emergency",
        arrival_window_start=clock.now,
        arrival_window_end=clock.now + dt.timedelta(hours=1),
        assigned_technician=technician,
    )
    msg = ScheduledMessage.objects.get(work_order=wo, kind="emergency_response")
    assert msg.status == "failed"
    assert ConsentRecord.objects.get(phone="+13035550123").status == "opted_out"
    assert msg.log.error_code == "21610"
    assert len(twilio.messages()) == 1
