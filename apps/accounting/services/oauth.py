"""Connecting a company over OAuth 2.0, and keeping its tokens fresh without losing them.

Refresh tokens rotate (Intuit's roughly daily, Xero's on every use), so two workers refreshing
with the same token leave one of them holding a dead token and the connection broken with
invalid_grant. Every refresh therefore runs under a row lock on the connection, re-reads the row
after taking it (someone may have refreshed meanwhile) and saves the rotated pair in the same
transaction: two workers make exactly one refresh call between them.
"""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from collections import defaultdict
from functools import partial

import structlog
from django.core import signing
from django.db import transaction
from django.utils import timezone

from apps.accounting.models import OAuthState
from apps.accounting.providers.base import AccountingProvider, InvalidGrant, SignInCodeRefused
from apps.core.errors import DomainError
from apps.core.models import User
from apps.integrations.activity import safe_message
from apps.integrations.errors import (
    AuthenticationError,
    NotConfigured,
    ProviderError,
    TemporaryError,
)
from apps.integrations.models import ConnectionStatus, IntegrationConnection, SyncLog
from apps.integrations.providers import provider_for, settings_parse
from apps.integrations.schedules import connection_defaults_ensure

logger = structlog.get_logger(__name__)

STATE_SALT = "apps.accounting.oauth-state"
STATE_TTL = dt.timedelta(minutes=10)
REFRESH_MARGIN_S = 120  # refresh a little before expiry, never mid-request

# SQLite has no row locks; within one process this keeps the guarantee for local runs.
_process_locks: dict[int, threading.Lock] = defaultdict(threading.Lock)


def accounting_provider(connection: IntegrationConnection) -> AccountingProvider:
    provider = provider_for(connection)
    if not isinstance(provider, AccountingProvider):
        raise DomainError(f"{connection} is not an accounting connection.")
    return provider


# --- connect -----------------------------------------------------------------------------------
def oauth_state_issue(*, connection: IntegrationConnection, user: User) -> str:
    # Spent and abandoned states are kept a day (for support questions), then dropped here.
    OAuthState.objects.filter(expires_at__lt=timezone.now() - dt.timedelta(days=1)).delete()
    nonce = secrets.token_urlsafe(24)
    OAuthState.objects.create(
        business_id=connection.business_id,
        connection=connection,
        user=user,
        nonce=nonce,
        expires_at=timezone.now() + STATE_TTL,
    )
    return signing.dumps({"c": connection.pk, "u": user.pk, "n": nonce}, salt=STATE_SALT)


def oauth_state_consume(*, state: str, user: User, provider_key: str) -> IntegrationConnection:
    """The connection this `state` was issued for, once; refused if forged, stale, reused or foreign."""
    try:
        data = signing.loads(state, salt=STATE_SALT, max_age=STATE_TTL.total_seconds())
    except signing.SignatureExpired:
        raise DomainError("This sign-in took too long. Start again from the connection.") from None
    except signing.BadSignature:
        raise DomainError("This sign-in answer was not started here (invalid state).") from None
    if data.get("u") != user.pk:
        raise DomainError("This sign-in was started by another user.")
    with transaction.atomic():
        row = (
            OAuthState.objects.select_for_update()
            .filter(nonce=data.get("n"), connection_id=data.get("c"), user=user)
            .first()
        )
        if row is None or row.used_at is not None:
            raise DomainError("This sign-in answer was already used. Start again.")
        if row.expires_at < timezone.now():
            raise DomainError("This sign-in took too long. Start again from the connection.")
        row.used_at = timezone.now()
        row.save(update_fields=["used_at"])
    connection = IntegrationConnection.objects.filter(
        pk=row.connection_id, business_id=user.business_id
    ).first()
    if connection is None or connection.provider != provider_key:
        raise DomainError("This sign-in does not belong to one of your connections.")
    return connection


def oauth_authorization_url(
    *, connection: IntegrationConnection, user: User, redirect_uri: str
) -> str:
    provider = accounting_provider(connection)
    return provider.oauth_authorization_url(
        state=oauth_state_issue(connection=connection, user=user), redirect_uri=redirect_uri
    )


def oauth_connect_complete(
    *, connection: IntegrationConnection, code: str, redirect_uri: str, params: dict[str, str]
) -> IntegrationConnection:
    """Exchange the code, store the tokens encrypted with the company id, add default schedules."""
    provider = accounting_provider(connection)
    tokens, company = provider.oauth_exchange(code=code, redirect_uri=redirect_uri, params=params)
    with transaction.atomic():
        locked = IntegrationConnection.objects.select_for_update().get(pk=connection.pk)
        previous = locked.external_account_id
        if previous and previous != company.remote_id and locked.external_refs.exists():
            raise DomainError(
                f"This connection already syncs company {previous}; connect company "
                f"{company.remote_id} through a new connection so the two sets of books never mix."
            )
        locked.credentials = {**(locked.credentials or {}), **tokens.as_credentials()}
        locked.external_account_id = company.remote_id
        locked.status, locked.last_error, locked.last_error_at = (
            ConnectionStatus.CONNECTED,
            "",
            None,
        )
        if company.name:
            locked.settings = {
                **(locked.settings or {}),
                **settings_parse(locked.provider, {"company_name": company.name}, by_system=True),
            }
        locked.save()
        # The same defaults as every other set-up path; ones a person changed are kept.
        connection_defaults_ensure(connection=locked)
    connection.refresh_from_db()
    return connection


def oauth_failure_words(
    *, connection: IntegrationConnection, error: ProviderError, finishing: bool
) -> str:
    """What a dispatcher reads when connecting failed at the vendor: what happened, that nothing
    changed, and what to do. Secrets are redacted from the vendor's words."""
    vendor = connection.get_provider_display()
    step = "finish" if finishing else "start"
    reason = safe_message(connection, error).rstrip(".")
    if isinstance(error, NotConfigured):
        return f"Could not {step} connecting {vendor}: {reason}. An administrator must set it."
    if isinstance(error, InvalidGrant | SignInCodeRefused):
        return (
            f"{vendor} refused the sign-in code (it works once, for a few minutes). Nothing was "
            f"changed: press “Connect to {vendor}” again."
        )
    if isinstance(error, AuthenticationError):
        return (
            f"{vendor} refused this app's credentials ({reason}). Nothing was changed: check the "
            f"app's client id and secret, then press “Connect to {vendor}” again."
        )
    if isinstance(error, TemporaryError):
        where = (
            " and the connection's oauth_discovery_url setting"
            if connection.provider == "quickbooks"
            else ""
        )
        return (
            f"Could not {step} connecting {vendor}: its sign-in service did not answer properly "
            f"({reason}). Nothing was changed. Try again in a few minutes; if it keeps failing, "
            f"check {vendor}'s status page{where}."
        )
    return (
        f"{vendor} refused the sign-in ({reason}). Nothing was changed: press “Connect to "
        f"{vendor}” again."
    )


# --- tokens ------------------------------------------------------------------------------------
def _fresh(credentials: dict) -> bool:
    expires_at = float(credentials.get("access_token_expires_at") or 0)
    return bool(credentials.get("access_token")) and expires_at > time.time() + REFRESH_MARGIN_S


def connection_access_token(
    *, connection: IntegrationConnection, provider: AccountingProvider
) -> str:
    credentials = connection.credentials or {}
    if _fresh(credentials):
        return credentials["access_token"]
    return connection_token_refresh(
        connection=connection,
        provider=provider,
        seen_access_token=credentials.get("access_token"),
    )


def connection_token_refresh(
    *,
    connection: IntegrationConnection,
    provider: AccountingProvider,
    seen_access_token: str | None,
) -> str:
    """Refresh once across all workers; returns a valid access token or raises."""
    failure: ProviderError | None = None
    with _process_locks[connection.pk], transaction.atomic():
        locked = IntegrationConnection.objects.select_for_update().get(pk=connection.pk)
        credentials = locked.credentials or {}
        if credentials.get("access_token") != seen_access_token and _fresh(credentials):
            connection.credentials = credentials  # another worker refreshed while we waited
            return credentials["access_token"]
        refresh_token = credentials.get("refresh_token")
        try:
            if not refresh_token:
                raise AuthenticationError(f"{connection} has no saved sign-in. Connect it first.")
            tokens = provider.oauth_refresh(refresh_token=refresh_token)
        except ProviderError as exc:
            failure = exc
        else:
            locked.credentials = {**credentials, **tokens.as_credentials()}
            locked.save(update_fields=["credentials", "updated_at"])
            connection.credentials = locked.credentials
            logger.info("oauth_token_refreshed", connection_id=connection.pk)
            return tokens.access_token
        if isinstance(failure, AuthenticationError):
            # Committed with this block (no exception leaves it), so the status sticks.
            connection_needs_reconnect(connection=locked, error=failure)
            connection.status = locked.status
    raise failure


def connection_tokens_refresh(connection: IntegrationConnection) -> None:
    """Refresh ahead of expiry (monitoring's maintenance task calls this through the framework's
    token-refresher registry); a no-op if another worker refreshed since this row was read."""
    connection_token_refresh(
        connection=connection,
        provider=accounting_provider(connection),
        seen_access_token=(connection.credentials or {}).get("access_token"),
    )


def connection_needs_reconnect(*, connection: IntegrationConnection, error: Exception) -> None:
    """Stop syncing and tell the office, instead of failing every sync silently."""
    message = safe_message(connection, error)
    IntegrationConnection.objects.filter(pk=connection.pk).update(
        status=ConnectionStatus.NEEDS_RECONNECT,
        last_error=message,
        last_error_at=timezone.now(),
    )
    connection.status = ConnectionStatus.NEEDS_RECONNECT
    logger.warning("accounting_needs_reconnect", connection_id=connection.pk, error=message)
    from apps.accounting.tasks import connection_reconnect_notify_task

    transaction.on_commit(partial(connection_reconnect_notify_task.delay, connection.pk))


def connection_reconnect_notify(*, connection_id: int) -> int:
    """Email the business's office staff that the connection needs them. Returns recipients."""
    from django.core.mail import send_mail

    connection = IntegrationConnection.objects.select_related("business").get(pk=connection_id)
    if connection.status != ConnectionStatus.NEEDS_RECONNECT:
        return 0
    staff = User.objects.filter(
        business_id=connection.business_id,
        is_active=True,
        role__in=("dispatcher", "manager", "admin"),
    ).exclude(email="")
    recipients = sorted({u.email for u in staff})
    if not recipients:
        return 0
    pending = SyncLog.objects.filter(connection=connection, status=SyncLog.Status.QUEUED).count()
    send_mail(
        subject=f"{connection.get_provider_display()} needs to be reconnected",
        message=(
            f"{connection.get_provider_display()} no longer accepts the sign-in saved for "
            f"“{connection.name}” ({connection.business}). Nothing is synced with it until "
            "someone reconnects it: open the connection in the admin and press "
            f"“Connect to {connection.get_provider_display()}”.\n\n"
            f"Waiting sync runs: {pending}. Invoices and payments recorded meanwhile are kept "
            "and sent once it is reconnected.\n\n"
            f"Last error: {connection.last_error}"
        ),
        from_email=None,
        recipient_list=recipients,
    )
    return len(recipients)
