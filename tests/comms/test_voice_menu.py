"""The main line's phone menu, driven as Twilio drives it: every request signed with the
connection's auth token (Twilio's RequestValidator), and every next request made to the URL the
returned TwiML names (Gather's action after a key press, the Redirect when nothing is pressed).

Business: main line +13035550100 (the office is the business's main phone unless the line has a
forward number), emergency line +13035550199 forwarding to the on-call phone +13035550777."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from apps.integrations.models import InboundEvent
from tests.comms.conftest import PUBLIC, post_twilio

pytestmark = pytest.mark.django_db
VOICE = "/webhooks/twilio/voice"
ON_CALL = "+13035550777"
CALL = {
    "AccountSid": "AC" + "1" * 32,
    "CallSid": "CAmenu1",
    "From": "+13035550123",
    "To": "+13035550100",
    "CallStatus": "in-progress",
    "Direction": "inbound",
}


def _twiml(response) -> ET.Element:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "text/xml"
    return ET.fromstring(response.content)  # noqa: S314 (our own TwiML, not untrusted input)


def _path(url: str) -> str:
    assert url.startswith(PUBLIC), url  # Twilio calls back the public URL we gave it
    return url.removeprefix(PUBLIC)


def _dialled(root: ET.Element) -> str | None:
    dial = root.find("Dial")
    return dial.text if dial is not None else None


@pytest.fixture
def menu(client, business, main_sender, emergency_sender):
    """A new call on the main line: the menu, with where Twilio goes next."""
    root = _twiml(post_twilio(client, VOICE, CALL))
    gather = root.find("Gather")
    redirect = root.find("Redirect")
    assert gather is not None and redirect is not None
    assert gather.get("numDigits") == "1" and gather.get("method") == "POST"
    assert "press 1" in gather.find("Say").text
    return {"key": _path(gather.get("action")), "no_key": _path(redirect.text)}


def test_a_new_call_on_the_main_line_gets_the_menu_and_is_logged(client, menu):
    assert InboundEvent.objects.filter(provider="twilio", event_type="call.inbound").count() == 1


def test_pressing_nothing_reaches_the_office(client, business, menu):
    # Twilio follows the Redirect with the call's parameters and no Digits.
    root = _twiml(post_twilio(client, menu["no_key"], CALL))
    assert root.find("Gather") is None  # never the menu again
    assert _dialled(root) == str(business.main_phone)
    assert root.find("Dial").get("record") == "record-from-answer-dual"
    assert "office" in root.find("Say").text


def test_pressing_1_reaches_the_on_call_phone(client, menu):
    root = _twiml(post_twilio(client, menu["key"], {**CALL, "Digits": "1"}))
    assert _dialled(root) == ON_CALL
    assert "emergency" in root.find("Say").text


@pytest.mark.parametrize("digits", ["2", "9", "0", "*", "#", ""])
def test_any_other_key_reaches_the_office(client, business, menu, digits):
    root = _twiml(post_twilio(client, menu["key"], {**CALL, "Digits": digits}))
    assert root.find("Gather") is None
    assert _dialled(root) == str(business.main_phone)


def test_the_menu_is_logged_once_whatever_the_caller_does(client, menu):
    post_twilio(client, menu["no_key"], CALL)
    post_twilio(client, menu["key"], {**CALL, "Digits": "1"})
    assert InboundEvent.objects.filter(provider="twilio").count() == 1


def test_the_main_lines_own_forward_number_is_the_office(client, main_sender, menu):
    main_sender.forward_to = "+13035550444"
    main_sender.save(update_fields=["forward_to"])
    assert _dialled(_twiml(post_twilio(client, menu["no_key"], CALL))) == "+13035550444"


def test_the_emergency_line_dials_on_call_at_once(client, business, main_sender, emergency_sender):
    root = _twiml(post_twilio(client, VOICE, {**CALL, "To": "+13035550199"}))
    assert root.find("Gather") is None
    assert _dialled(root) == ON_CALL


def test_a_call_still_in_the_old_menu_during_a_deploy_reaches_the_office(
    client, business, main_sender, emergency_sender
):
    # TwiML served before the fix redirected "no key" to ?Digits=1 (no Digits in the body).
    root = _twiml(post_twilio(client, f"{VOICE}?Digits=1", CALL))
    assert _dialled(root) == str(business.main_phone)
    # ... and its Gather posted a key press to the bare URL.
    pressed = _twiml(post_twilio(client, VOICE, {**CALL, "Digits": "1"}))
    assert _dialled(pressed) == ON_CALL


def test_every_menu_request_must_be_signed(client, menu):
    for path, params in ((menu["no_key"], CALL), (menu["key"], {**CALL, "Digits": "1"})):
        assert post_twilio(client, path, params, token="not-the-token").status_code == 403
    # A signature over the menu URL without its query string does not cover the query.
    from tests.comms.conftest import sign

    signature = sign(PUBLIC + VOICE, CALL)
    response = client.post(menu["no_key"], CALL, HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 403
