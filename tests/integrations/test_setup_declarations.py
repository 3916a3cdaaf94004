"""Set-up declarations: typed settings, declared credential keys, base URLs, the generated docs."""

import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.core.management import CommandError, call_command

from apps.accounting.providers.quickbooks import QuickBooksProvider
from apps.accounting.providers.xero import XeroProvider
from apps.core.errors import DomainError
from apps.integrations import services
from apps.integrations.models import IntegrationConnection
from apps.integrations.providers import provider_class_for, registered_providers
from apps.integrations.reference import reference_markdown
from apps.integrations.schema import FieldType, SettingsInvalid
from tests import factories as f

pytestmark = pytest.mark.django_db
DOCS = Path(__file__).resolve().parents[2] / "docs"


def cli(*args) -> str:
    out = io.StringIO()
    call_command("integrations", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def setup_qbo(business, *extra) -> dict:
    out = cli(
        "setup", "--business", business.slug, "--provider", "quickbooks", "--name", "Books",
        "--json", *extra,
    )  # fmt: skip
    return json.loads(out)


def test_cli_settings_are_stored_typed_and_false_reads_false(business):
    shown = setup_qbo(
        business,
        "--setting", "invoice_on_completion=false",
        "--setting", "default_tax_rate=8.25",
        "--setting", "sub_customers=yes",
        "--setting", 'custom_fields={"technician": "0"}',
        "--setting", "expected_activity_minutes=90",
    )  # fmt: skip
    assert shown["created"] is True
    assert shown["connection"]["settings"] == {
        "invoice_on_completion": False,
        "default_tax_rate": "8.25",
        "sub_customers": True,
        "custom_fields": {"technician": "0"},
        "expected_activity_minutes": 90,
    }
    connection = IntegrationConnection.objects.get(pk=shown["connection"]["id"])
    assert connection.setting("invoice_on_completion") is False
    assert connection.setting("default_tax_rate") == Decimal("8.25")
    assert connection.setting("custom_fields") == {
        "work_order": "1",
        "technician": "0",
        "completed_on": "3",
    }
    assert connection.setting("parts_item_type") == "non_inventory"  # the declared default

    # KEY= returns a setting to its default; the other keys are kept.
    setup_qbo(business, "--setting", "invoice_on_completion=")
    connection.refresh_from_db()
    assert "invoice_on_completion" not in connection.settings
    assert connection.setting("invoice_on_completion") is True
    assert connection.settings["default_tax_rate"] == "8.25"


@pytest.mark.parametrize(
    ("setting", "reason"),
    [
        ("invoice_on_completion=maybe", "expected true or false"),
        ("invoce_on_completion=false", "unknown for this provider (it takes: "),
        ("default_tax_rate=abc", "expected a number such as 8.25"),
        ("default_tax_rate=150", "must be at most 100"),
        ("parts_item_type=stock", "expected one of: non_inventory, inventory"),
        ("company_name=Acme", "recorded by the connection itself"),
        ("custom_fields={not json", "expected a JSON object"),
        ('custom_fields={"colour": "1"}', "unknown key(s) colour"),
        ("oauth_discovery_url=ftp://x", "expected an http(s) URL"),
    ],
)
def test_unknown_keys_and_bad_values_are_refused_and_nothing_is_stored(business, setting, reason):
    with pytest.raises(CommandError) as refused:
        setup_qbo(business, "--setting", setting)
    assert refused.value.returncode == 1
    assert f"setting '{setting.split('=')[0]}'" in str(refused.value)
    assert reason in str(refused.value)
    assert not IntegrationConnection.objects.filter(name="Books").exists()


def test_credentials_are_parsed_by_declaration_and_unknown_keys_refused(business, tmp_path):
    creds = tmp_path / "creds.json"
    creds.write_text(
        json.dumps(
            {
                "refresh_token": "RT-secret-value-0001",
                "access_token": "AT-secret-value-0002",
                "access_token_expires_at": "2031-01-02T03:04:05Z",
                "client_id": "ABcdEFghIJklMNop1234",
            }
        )
    )
    shown = setup_qbo(business, "--credentials-file", str(creds))
    connection = IntegrationConnection.objects.get(pk=shown["connection"]["id"])
    assert (
        connection.credentials["access_token_expires_at"]
        == dt.datetime(2031, 1, 2, 3, 4, 5, tzinfo=dt.UTC).timestamp()
    )
    assert "RT-secret-value-0001" not in json.dumps(shown)

    creds.write_text(json.dumps({"acess_token": "typo-secret-value-0003"}))
    with pytest.raises(CommandError) as refused:
        setup_qbo(business, "--credentials-file", str(creds))
    assert "credential 'acess_token': unknown for this provider" in str(refused.value)
    assert "access_token" in str(refused.value)  # the known keys are listed
    assert "typo-secret-value-0003" not in str(refused.value)  # a value is never echoed


@pytest.mark.parametrize(
    ("provider", "given", "stored"),
    [
        ("quickbooks", "http://127.0.0.1:8123", "http://127.0.0.1:8123/v3"),
        ("quickbooks", "http://127.0.0.1:8123/v3/", "http://127.0.0.1:8123/v3"),
        (
            "quickbooks",
            "https://sandbox-quickbooks.api.intuit.com",
            "https://sandbox-quickbooks.api.intuit.com/v3",
        ),
        ("xero", "https://api.xero.com", "https://api.xero.com/api.xro/2.0"),
        ("xero", "https://api.xero.com/api.xro/2.0/", "https://api.xero.com/api.xro/2.0"),
        ("xero", "http://127.0.0.1:4010", "http://127.0.0.1:4010"),  # a test server: as given
        ("stripe", "http://127.0.0.1:8420/", "http://127.0.0.1:8420"),
    ],
)
def test_base_urls_are_accepted_with_or_without_the_api_path(business, provider, given, stored):
    connection, _ = services.connection_upsert(
        business=business, provider=provider, name="X", api_base_url=given
    )
    assert connection.api_base_url == stored


def test_a_quickbooks_base_url_stored_without_v3_still_works():
    legacy = IntegrationConnection(provider="quickbooks", api_base_url="http://127.0.0.1:9/")
    assert QuickBooksProvider(legacy).base_url == "http://127.0.0.1:9/v3"
    xero = IntegrationConnection(provider="xero", api_base_url="https://api.xero.com")
    assert XeroProvider(xero).base_url == "https://api.xero.com/api.xro/2.0"


def test_settings_update_and_system_record(business):
    connection = f.IntegrationConnectionFactory(business=business, provider="quickbooks")
    services.connection_settings_update(
        connection=connection, values={"sub_customers": "on", "default_tax_rate": 7}
    )
    services.connection_settings_record(
        connection=connection, values={"home_currency": "CAD", "multicurrency": "true"}
    )
    connection.refresh_from_db()
    assert connection.settings == {
        "sub_customers": True,
        "default_tax_rate": "7",
        "home_currency": "CAD",
        "multicurrency": True,
    }
    with pytest.raises(SettingsInvalid) as refused:
        services.connection_settings_update(connection=connection, values={"home_currency": "EUR"})
    assert refused.value.errors == {
        "home_currency": "recorded by the connection itself; it cannot be set"
    }
    # Replacing the document (the admin form) keeps what the connection recorded itself.
    services.connection_settings_update(
        connection=connection, values={"parts_item_type": "inventory"}, replace=True
    )
    connection.refresh_from_db()
    assert connection.settings == {
        "parts_item_type": "inventory",
        "home_currency": "CAD",
        "multicurrency": True,
    }


def test_every_installed_provider_declares_what_it_takes():
    keys = {cls.key for cls in registered_providers()}
    assert {
        "quickbooks",
        "xero",
        "stripe",
        "twilio",
        "slack",
        "osrm",
        "google_maps",
        "here",
    } <= keys
    expected = {
        "quickbooks": {
            "client_id",
            "client_secret",
            "access_token",
            "refresh_token",
            "access_token_expires_at",
            "refresh_token_expires_at",
            "scope",
            "webhook_verifier_token",
        },
        "stripe": {"secret_key", "publishable_key", "webhook_secret", "webhook_secret_previous"},
        "twilio": {"account_sid", "auth_token"},
    }
    for key, credentials in expected.items():
        declared = provider_class_for(key).credentials_schema()
        assert {c.name for c in declared} == credentials
        assert all(c.label and c.help for c in declared), key
    for cls in registered_providers():
        assert all(s.help for s in cls.settings_schema()), cls.key
        assert set(cls.required_credentials) <= {c.name for c in cls.credentials_schema()}


def test_describe_prints_the_declarations(business):
    data = json.loads(cli("describe", "quickbooks", "--json"))
    [quickbooks] = data
    assert "access_token_expires_at" in {c["name"] for c in quickbooks["credentials"]}
    assert {"oauth_discovery_url", "invoice_on_completion"} <= {
        s["name"] for s in quickbooks["settings"]
    }
    assert quickbooks["default_schedules"]["customers"] == {"every_minutes": 15}
    assert "`oauth_discovery_url`" in cli("describe", "quickbooks")
    with pytest.raises(CommandError, match="No adapter for provider 'nope'"):
        cli("describe", "nope")


def test_the_setup_reference_in_docs_is_generated_from_the_declarations():
    # Regenerate: python manage.py integrations describe --markdown > docs/integrations-reference.md
    assert (DOCS / "integrations-reference.md").read_text() == reference_markdown()
    assert cli("describe", "--markdown") == reference_markdown()


def test_the_accounting_docs_name_every_quickbooks_and_xero_key():
    text = (DOCS / "accounting.md").read_text()
    for cls in (QuickBooksProvider, XeroProvider):
        for field in (*cls.credentials_schema(), *cls.settings_schema()):
            assert f"`{field.name}`" in text, f"{cls.key}: {field.name} is not in accounting.md"


def test_the_data_migration_types_stored_strings_and_keeps_what_it_cannot_read(business):
    from importlib import import_module

    migration = import_module("apps.integrations.migrations.0003_typed_connection_settings")
    connection = f.IntegrationConnectionFactory(
        business=business,
        provider="quickbooks",
        settings={
            "invoice_on_completion": "false",
            "sub_customers": "True",
            "default_tax_rate": 8.25,
            "custom_fields": '{"technician": 0}',
            "expected_activity_minutes": "30",
            "parts_item_type": "inventory",
            "multicurrency": "perhaps",
            "legacy_key": "kept",
        },
    )
    assert connection.setting("invoice_on_completion") is False  # even before: never truthy

    migration.type_settings(django_apps, None)

    connection.refresh_from_db()
    assert connection.settings == {
        "invoice_on_completion": False,
        "sub_customers": True,
        "default_tax_rate": "8.25",
        "custom_fields": {"technician": "0"},
        "expected_activity_minutes": 30,
        "parts_item_type": "inventory",
        "multicurrency": "perhaps",  # unreadable: kept, read as the default
        "legacy_key": "kept",
    }
    assert connection.setting("multicurrency") is False


def test_reading_an_undeclared_setting_is_a_programming_error(business):
    connection = f.IntegrationConnectionFactory(business=business, provider="stripe")
    with pytest.raises(LookupError):
        connection.setting("invoice_on_completion")


def test_a_provider_without_an_adapter_takes_only_the_common_settings(business):
    with pytest.raises(DomainError, match="unknown for this provider"):
        services.connection_upsert(
            business=business, provider="sendgrid", name="Mail", settings={"region": "eu"}
        )
    connection, _ = services.connection_upsert(
        business=business,
        provider="sendgrid",
        name="Mail",
        settings={"expected_activity_minutes": "60"},
        credentials={"api_key": "SG.secret-value"},
    )
    assert connection.settings == {"expected_activity_minutes": 60}


def test_each_declaration_gives_a_form_field_for_the_set_up_pages():
    from django import forms

    kinds = {}
    for cls in registered_providers():
        for field in cls.settings_schema():
            kinds[field.type] = type(field.form_field())
    assert kinds[FieldType.BOOLEAN] is forms.NullBooleanField
    assert kinds[FieldType.DECIMAL] is forms.DecimalField
    assert kinds[FieldType.CHOICE] is forms.ChoiceField
    assert kinds[FieldType.URL] is forms.URLField
    assert kinds[FieldType.MAPPING] is forms.JSONField
    rate = next(
        s for s in QuickBooksProvider.settings_schema() if s.name == "default_tax_rate"
    ).form_field()
    assert rate.clean("8.25") == Decimal("8.25")
    with pytest.raises(forms.ValidationError):
        rate.clean("150")
