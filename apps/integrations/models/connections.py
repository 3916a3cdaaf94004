from django.db import models

from apps.core.models import BusinessOwned, Timestamped
from apps.integrations.fields import EncryptedJSONDocumentField
from apps.integrations.redaction import mask_secret


class ProviderKey(models.TextChoices):
    QUICKBOOKS = "quickbooks", "QuickBooks Online"
    XERO = "xero", "Xero"
    TWILIO = "twilio", "Twilio"
    STRIPE = "stripe", "Stripe"
    SENDGRID = "sendgrid", "SendGrid"
    AMAZON_SES = "amazon_ses", "Amazon SES"
    POSTMARK = "postmark", "Postmark"
    MAILGUN = "mailgun", "Mailgun"
    SLACK = "slack", "Slack"
    OSRM = "osrm", "OSRM"
    GOOGLE_MAPS = "google_maps", "Google Maps"
    HERE = "here", "HERE"


class ConnectionStatus(models.TextChoices):
    PENDING = "pending", "Not connected yet"
    CONNECTED = "connected", "Connected"
    NEEDS_RECONNECT = "needs_reconnect", "Needs reconnect"
    ERROR = "error", "Error"
    DISABLED = "disabled", "Disabled"


class Environment(models.TextChoices):
    SANDBOX = "sandbox", "Sandbox"
    PRODUCTION = "production", "Production"


class IntegrationConnection(BusinessOwned, Timestamped):
    """One business's account at one vendor. Credentials are encrypted and never shown in full."""

    provider = models.CharField(max_length=30, choices=ProviderKey.choices)
    name = models.CharField(max_length=100)
    credentials = EncryptedJSONDocumentField(default=dict, blank=True)
    settings = models.JSONField(default=dict, blank=True)
    environment = models.CharField(
        max_length=12, choices=Environment.choices, default=Environment.SANDBOX
    )
    api_base_url = models.URLField(
        blank=True,
        help_text="Override the vendor's API address (sandbox, gateway, loopback test server).",
    )
    external_account_id = models.CharField(
        max_length=100, blank=True, help_text="QuickBooks realm, Xero tenant, Stripe account..."
    )
    sync_enabled = models.BooleanField(default=True)
    status = models.CharField(
        max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.PENDING
    )
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["business", "provider", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["business", "provider", "name"], name="connection_name_unique"
            )
        ]
        indexes = [models.Index(fields=["provider", "status"])]

    def __str__(self) -> str:
        return f"{self.get_provider_display()}: {self.name}"

    def setting(self, name: str):
        """A setting, typed and defaulted by the provider's declaration (apps.integrations.schema)."""
        from apps.integrations.providers import connection_setting

        return connection_setting(self, name)

    @property
    def masked_credentials(self) -> dict[str, str]:
        return {key: mask_secret(value) for key, value in (self.credentials or {}).items()}

    def secret_values(self) -> list[str]:
        """Every credential value, so error messages can be scrubbed of them before storage."""
        return [str(v) for v in (self.credentials or {}).values() if v not in (None, "")]


class AccountMapping(BusinessOwned, Timestamped):
    """Our category, method or code -> the vendor's account, tax code, class or tracking option."""

    class Kind(models.TextChoices):
        REVENUE = "revenue", "Revenue category \u2192 income account"
        PARTS = "parts", "Parts and materials \u2192 account"
        SUBCONTRACTOR = "subcontractor", "Subcontractor costs \u2192 account"
        DEPOSIT = "deposit", "Payment method \u2192 deposit account"
        TAX_CODE = "tax_code", "Tax code"
        CLASS = "class", "QuickBooks class"
        TRACKING = "tracking", "Xero tracking category"

    connection = models.ForeignKey(
        IntegrationConnection, on_delete=models.CASCADE, related_name="account_mappings"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    local_key = models.CharField(
        max_length=100, help_text="e.g. 'HVAC service revenue', 'card', 'default'"
    )
    remote_id = models.CharField(max_length=100)
    remote_name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["connection", "kind", "local_key"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "kind", "local_key"], name="account_mapping_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.local_key} \u2192 {self.remote_name or self.remote_id}"
