"""What an accounting connection takes at set-up: credentials and settings, per vendor.

The services read these settings only through `connection.setting(name)`; the CLI, the admin and
the docs (docs/integrations-reference.md, generated) all come from these declarations.
"""

from __future__ import annotations

from decimal import Decimal

from apps.core.models import PaymentMethod
from apps.integrations.schema import CredentialField, FieldType, SettingField

T = FieldType


def oauth_credentials(vendor: str, prefix: str) -> tuple[CredentialField, ...]:
    """The keys "Connect to <vendor>" writes, and the app keys a business may bring."""
    return (
        CredentialField(
            "client_id",
            "App client id",
            secret=False,
            help=(
                f"Only for a business that brings its own {vendor} app; empty: the deployment's "
                f"{prefix}_CLIENT_ID."
            ),
        ),
        CredentialField(
            "client_secret",
            "App client secret",
            help=f"With client_id; empty: the deployment's {prefix}_CLIENT_SECRET.",
        ),
        CredentialField(
            "refresh_token",
            "Refresh token",
            required=True,
            from_oauth=True,
            help=(
                f"Written by “Connect to {vendor}”. Give it in a credentials file only to import "
                "a sign-in made elsewhere; it rotates and is saved back on every refresh."
            ),
        ),
        CredentialField(
            "access_token",
            "Access token",
            from_oauth=True,
            help="Optional with a refresh token: a missing or expired one is refreshed first.",
        ),
        CredentialField(
            "access_token_expires_at",
            "Access token expires at",
            secret=False,
            type=T.TIMESTAMP,
            from_oauth=True,
            help=(
                "Epoch seconds or an ISO 8601 date-time with offset. Missing: the access token "
                "counts as expired and is refreshed before the first call."
            ),
        ),
        CredentialField(
            "refresh_token_expires_at",
            "Refresh token expires at",
            secret=False,
            type=T.TIMESTAMP,
            from_oauth=True,
            help="Epoch seconds or ISO 8601; monitoring warns before the sign-in runs out.",
        ),
        CredentialField(
            "scope", "Granted scopes", secret=False, from_oauth=True, help="As the vendor granted."
        ),
    )


ACCOUNTING_SETTINGS: tuple[SettingField, ...] = (
    SettingField(
        "invoice_on_completion",
        T.BOOLEAN,
        default=True,
        help=(
            "A completed work order nobody has invoiced is invoiced here (at default_tax_rate) "
            "and pushed. false: only invoices the office makes are pushed."
        ),
    ),
    SettingField(
        "default_tax_rate",
        T.DECIMAL,
        default=Decimal("0"),
        min_value=Decimal("0"),
        max_value=Decimal("100"),
        help="Percent, for invoices made automatically on completion (e.g. 8.25).",
    ),
    SettingField(
        "parts_item_type",
        T.CHOICE,
        default="non_inventory",
        choices=("non_inventory", "inventory"),
        help="How parts are created as items at the vendor (inventory needs the parts mappings).",
    ),
    SettingField(
        "default_payment_method",
        T.CHOICE,
        default=PaymentMethod.CHECK.value,
        choices=tuple(PaymentMethod.values),
        help="For payments entered at the vendor whose method we cannot recognise.",
    ),
    SettingField(
        "company_name",
        T.TEXT,
        default="",
        editable=False,
        help="The company's name at the vendor, recorded when it is connected.",
    ),
)

QUICKBOOKS_CREDENTIALS = (
    *oauth_credentials("QuickBooks", "QUICKBOOKS"),
    CredentialField(
        "webhook_verifier_token",
        "Webhook verifier token",
        help=(
            "The verifier token of this connection's own Intuit app (with client_id); empty: "
            "the deployment's QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN."
        ),
    ),
)

QUICKBOOKS_SETTINGS: tuple[SettingField, ...] = (
    *ACCOUNTING_SETTINGS,
    SettingField(
        "oauth_discovery_url",
        T.URL,
        default="",
        help=(
            "Where Intuit's OpenID discovery document is read (it names the consent and token "
            "endpoints). Empty: QUICKBOOKS_OAUTH_DISCOVERY_URL, else Intuit's own document for "
            "the connection's environment. Set it for a sandbox or test server."
        ),
    ),
    SettingField(
        "sub_customers",
        T.BOOLEAN,
        default=False,
        help="Each service location becomes a sub-customer billed with its parent customer.",
    ),
    SettingField(
        "custom_fields",
        T.MAPPING,
        default={"work_order": "1", "technician": "2", "completed_on": "3"},
        keys=("work_order", "technician", "completed_on"),
        help=(
            'QuickBooks custom field definition ids, e.g. {"work_order": "1"}; "0" leaves that '
            "field off the invoice."
        ),
    ),
    SettingField(
        "home_currency",
        T.TEXT,
        default="",
        editable=False,
        help="Read from the company's Preferences once and kept.",
    ),
    SettingField(
        "multicurrency",
        T.BOOLEAN,
        default=False,
        editable=False,
        help="Read from the company's Preferences once and kept.",
    ),
)

XERO_CREDENTIALS = oauth_credentials("Xero", "XERO")
XERO_SETTINGS = ACCOUNTING_SETTINGS
