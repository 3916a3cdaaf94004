"""What both accounting adapters require before talking to their vendor (shared base behaviour)."""

import pytest

from apps.accounting.providers.quickbooks import QuickBooksProvider
from apps.accounting.providers.xero import XeroProvider
from apps.integrations.errors import NotConfigured
from tests import factories as f

VENDORS = [
    (QuickBooksProvider, "quickbooks", "QUICKBOOKS", "realm id"),
    (XeroProvider, "xero", "XERO", "tenant id"),
]


@pytest.mark.parametrize(("provider_class", "key", "prefix", "account"), VENDORS)
def test_not_connected_until_oauth_has_run(business, provider_class, key, prefix, account):
    connection = f.IntegrationConnectionFactory(business=business, provider=key, credentials={})
    with pytest.raises(NotConfigured, match="not connected yet: use “Connect to"):
        provider_class(connection).check_credentials()
    connection.credentials = {"refresh_token": "rt-123456789"}
    with pytest.raises(NotConfigured, match=f"\\({account}\\) is unknown: reconnect"):
        provider_class(connection).check_credentials()
    connection.external_account_id = "acct-1"
    provider_class(connection).check_credentials()  # connected: no error


@pytest.mark.parametrize(("provider_class", "key", "prefix", "account"), VENDORS)
def test_app_credentials_come_from_the_connection_first_then_settings(
    business, settings, provider_class, key, prefix, account
):
    connection = f.IntegrationConnectionFactory(business=business, provider=key, credentials={})
    setattr(settings, f"{prefix}_CLIENT_ID", "")
    setattr(settings, f"{prefix}_CLIENT_SECRET", "")
    # The message says what to set and where.
    with pytest.raises(
        NotConfigured,
        match=f"app credentials are missing: set {prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET",
    ):
        provider_class(connection)._app_credentials()

    setattr(settings, f"{prefix}_CLIENT_ID", "deploy-id")
    setattr(settings, f"{prefix}_CLIENT_SECRET", "deploy-secret")
    assert provider_class(connection)._app_credentials() == ("deploy-id", "deploy-secret")

    connection.credentials = {"client_id": "own-id", "client_secret": "own-secret"}
    assert provider_class(connection)._app_credentials() == ("own-id", "own-secret")
