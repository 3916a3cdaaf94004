"""OAuth token refreshers, registered per provider by the app that owns the tokens.

Monitoring's maintenance task refreshes every OAuth connection ahead of expiry (so one used rarely
never lapses) by calling the refresher registered for its provider. The owning app (accounting for
QuickBooks and Xero) registers at start-up, e.g. in AppConfig.ready():

    from apps.integrations.tokens import register_token_refresher
    register_token_refresher("quickbooks", quickbooks_tokens_refresh)

A refresher takes the connection and must: lock the row (select_for_update) so it never races a
lazy refresh with a rotating refresh token, exchange the refresh token, store the new credentials
with `access_token_expires_at` / `refresh_token_expires_at` (epoch seconds), and raise from the
error tree (AuthenticationError when the grant is refused, TemporaryError to try again later).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apps.integrations.models import IntegrationConnection

TokenRefresher = Callable[["IntegrationConnection"], None]

token_refreshers: dict[str, TokenRefresher] = {}


def register_token_refresher(provider: str, refresher: TokenRefresher) -> TokenRefresher:
    token_refreshers[provider] = refresher
    return refresher


def unregister_token_refresher(provider: str) -> None:
    token_refreshers.pop(provider, None)


def refresher_for(provider: str) -> TokenRefresher | None:
    return token_refreshers.get(provider)


def _epoch(value: object) -> dt.datetime | None:
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def token_expiry(credentials: dict) -> tuple[dt.datetime | None, dt.datetime | None]:
    """(access token expiry, refresh token expiry) from stored credentials; None when unknown."""
    credentials = credentials or {}
    return (
        _epoch(credentials.get("access_token_expires_at")),
        _epoch(credentials.get("refresh_token_expires_at")),
    )
