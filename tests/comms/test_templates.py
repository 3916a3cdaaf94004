"""Template variables are declared; the renderer fills only those; defaults cover every kind."""

import pytest
from django.core.exceptions import ValidationError

from apps.comms.models import MessageTemplate, TemplateKind
from apps.comms.rendering import DEFAULTS, placeholders_in, render, template_for

pytestmark = pytest.mark.django_db


def _template(business, **kw):
    values = {"kind": "en_route", "sms_body": "Hi {customer_name}", "variables": "customer_name"}
    return MessageTemplate(business=business, **{**values, **kw})


def test_undeclared_variable_is_refused_and_named(business):
    t = _template(business, sms_body="Hi {customer_name}, ETA {eta}")
    with pytest.raises(ValidationError) as exc:
        t.full_clean()
    assert exc.value.message_dict["sms_body"] == [
        "Uses undeclared variable {eta}; declare it or remove it."
    ]


def test_undeclared_variable_in_email_subject_is_refused(business):
    t = _template(business, email_subject="Invoice {invoice_number}")
    with pytest.raises(ValidationError) as exc:
        t.full_clean()
    assert "{invoice_number}" in exc.value.message_dict["email_subject"][0]


def test_unknown_declared_variable_is_refused(business):
    t = _template(business, variables="customer_name, favourite_colour")
    with pytest.raises(ValidationError) as exc:
        t.full_clean()
    assert "{favourite_colour}" in exc.value.message_dict["variables"][0]


def test_malformed_braces_are_refused(business):
    t = _template(business, sms_body="Hi {customer_name")
    with pytest.raises(ValidationError) as exc:
        t.full_clean()
    assert "Malformed placeholder" in exc.value.message_dict["sms_body"][0]


def test_valid_template_saves(business):
    t = _template(business, sms_body="{customer_name}: ETA {eta}", variables="customer_name, eta")
    t.full_clean()
    t.save()
    assert template_for(business, "en_route") == t


def test_every_default_template_is_valid(business):
    for kind in TemplateKind.values:
        assert kind in DEFAULTS
        template = template_for(business, kind)
        template.full_clean(exclude=["business"])


def test_render_uses_only_declared_values_and_normalises():
    t = MessageTemplate(
        kind="en_route", sms_body="“{customer_name}” — {eta}", variables="customer_name,eta"
    )
    out = render(t, {"customer_name": "Ann", "eta": "20 min", "secret": "x"})
    assert out.sms_body == '"Ann" - 20 min'
    assert out.segments.encoding == "GSM-7"


def test_placeholders_ignore_escaped_braces():
    assert placeholders_in("{{literal}} {name}") == {"name"}
