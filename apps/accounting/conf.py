"""Accounting settings: Django settings first, then the environment, then the default.

The app's OAuth client (one per vendor, registered at Intuit's and Xero's developer portals) and
the webhook keys are deployment settings. A connection may carry its own client_id/client_secret in
its encrypted credentials (a business that brings its own app); those win.
"""

from __future__ import annotations

from django.conf import settings

from thorbis.env import env_setting

DEFAULTS: dict[str, object] = {
    "QUICKBOOKS_CLIENT_ID": "",
    "QUICKBOOKS_CLIENT_SECRET": "",
    "QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN": "",
    # Empty: intuit-oauth's own discovery document for the connection's environment.
    "QUICKBOOKS_OAUTH_DISCOVERY_URL": "",
    "XERO_CLIENT_ID": "",
    "XERO_CLIENT_SECRET": "",
    "XERO_WEBHOOK_KEY": "",
    "XERO_AUTHORIZE_URL": "https://login.xero.com/identity/connect/authorize",
    "XERO_TOKEN_URL": "https://identity.xero.com/connect/token",
    "XERO_IDENTITY_URL": "https://api.xero.com",
    # How long a sent write may stay unanswered before another worker re-sends it (same key).
    "ACCOUNTING_WRITE_LEASE_SECONDS": 120,
    # Threads sending one connection's owed invoices in parallel (each owns a share of the rows).
    "ACCOUNTING_FLUSH_WORKERS": 4,
    # How long one outbox run may keep sending before it hands the rest to a new task.
    "ACCOUNTING_FLUSH_BUDGET_SECONDS": 300,
}


def setting(name: str):
    if hasattr(settings, name):
        return getattr(settings, name)
    # Blank counts as unset; a value that is not a number stops with the variable's name.
    return env_setting(name, DEFAULTS[name])
