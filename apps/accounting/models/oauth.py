from django.conf import settings
from django.db import models

from apps.core.models import BusinessOwned
from apps.integrations.models import IntegrationConnection, ProviderKey

ACCOUNTING_PROVIDERS = (ProviderKey.QUICKBOOKS, ProviderKey.XERO)


class AccountingConnectionManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(provider__in=ACCOUNTING_PROVIDERS)

    def for_business(self, business):
        return self.get_queryset().filter(business=business)


class AccountingConnection(IntegrationConnection):
    """The QuickBooks and Xero connections, for the accounting admin (connect button, outbox)."""

    objects = AccountingConnectionManager()

    class Meta:
        proxy = True
        verbose_name = "accounting connection"


class OAuthState(BusinessOwned):
    """One OAuth `state` we handed out: bound to a user and a connection, usable once.

    The state string itself is signed (django.core.signing), so a forged one fails before any
    lookup; this row makes it single-use and short-lived.
    """

    connection = models.ForeignKey(
        IntegrationConnection, on_delete=models.CASCADE, related_name="+"
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    nonce = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "OAuth state"
        indexes = [models.Index(fields=["expires_at"])]

    def __str__(self) -> str:
        return f"{self.connection_id}:{self.nonce[:8]}"
