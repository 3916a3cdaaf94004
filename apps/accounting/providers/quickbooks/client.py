"""The python-quickbooks client as we drive it, and SDK errors mapped into the error tree."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping

import requests
from django.conf import settings
from intuitlib.client import AuthClient
from intuitlib.exceptions import AuthClientError
from quickbooks import QuickBooks
from quickbooks import exceptions as qb_exc
from quickbooks.mixins import DecimalEncoder

from apps.accounting.providers.base import (
    DuplicateDocument,
    DuplicateName,
    InvalidGrant,
    RemoteNotFound,
    SignInCodeRefused,
    StaleObject,
    TokenSet,
)
from apps.integrations.errors import (
    AuthenticationError,
    ProviderError,
    RateLimited,
    RejectedError,
    TemporaryError,
)
from apps.integrations.http import error_for_status, parse_retry_after


class HttpStatus(Exception):
    def __init__(self, response: requests.Response):
        super().__init__(f"QuickBooks answered {response.status_code}")
        self.status_code = response.status_code
        self.retry_after = parse_retry_after(response.headers.get("Retry-After"))


class AccessTokenExpired(TemporaryError):
    """A 401 from the API: usually an access token that expired early; refresh and retry once."""


class BearerSession(requests.Session):
    def __init__(self, access_token: str):
        super().__init__()
        self.access_token = access_token
        self.timeout = (
            settings.INTEGRATIONS_HTTP_CONNECT_TIMEOUT,
            settings.INTEGRATIONS_HTTP_READ_TIMEOUT,
        )

    def request(self, method, url, **kwargs):
        kwargs.setdefault("timeout", self.timeout)
        return super().request(method, url, **kwargs)


class TimedAuthClient(AuthClient):
    """intuit-oauth's client (itself a requests session) with our timeouts: its discovery and
    token requests carry none, so a vendor that never answers would hold the page for ever."""

    def request(self, method, url, **kwargs):
        kwargs.setdefault(
            "timeout",
            (settings.INTEGRATIONS_HTTP_CONNECT_TIMEOUT, settings.INTEGRATIONS_HTTP_READ_TIMEOUT),
        )
        return super().request(method, url, **kwargs)


def map_oauth_error(exc: BaseException) -> ProviderError | None:
    """As map_error, and an unreadable answer of the sign-in service (not JSON, a discovery
    document without its endpoints) is the vendor's fault, temporary, not our crash."""
    mapped = map_error(exc)
    if mapped is None and isinstance(exc, ValueError | KeyError | TypeError):
        mapped = TemporaryError("QuickBooks' sign-in service sent an answer that cannot be read")
    return mapped


def map_code_error(exc: BaseException) -> ProviderError | None:
    """At the code exchange, invalid_grant refuses this sign-in code, not the connection: a
    connected company must not become "needs reconnect" because a new attempt failed."""
    mapped = map_oauth_error(exc)
    if isinstance(mapped, InvalidGrant):
        return SignInCodeRefused(
            "QuickBooks refused the sign-in code (invalid_grant)",
            status_code=400,
            vendor_code="invalid_grant",
        )
    return mapped


class Client(QuickBooks):
    def process_request(self, request_type, url, headers="", params="", data=""):
        response = super().process_request(
            request_type, url, headers=headers, params=params, data=data
        )
        if response.status_code == 429 or response.status_code >= 500:
            raise HttpStatus(response)
        return response


def dumps(body: dict) -> str:
    return json.dumps(body, cls=DecimalEncoder)


def _words(exc: qb_exc.QuickbooksException) -> str:
    detail = (exc.detail or "").strip()
    return f"QuickBooks refused it: {exc.message}" + (f" ({detail})" if detail else "")


def map_error(exc: BaseException) -> ProviderError | None:
    """SDK and transport exceptions -> the framework's error tree."""
    if isinstance(exc, HttpStatus):
        message = (
            "QuickBooks is throttling requests"
            if exc.status_code == 429
            else f"QuickBooks is unavailable ({exc.status_code})"
        )
        return error_for_status(exc.status_code, message, retry_after=exc.retry_after)
    if isinstance(exc, requests.Timeout):
        return TemporaryError("QuickBooks did not answer in time")
    if isinstance(exc, requests.ConnectionError):
        return TemporaryError("Could not reach QuickBooks (the connection dropped)")
    if isinstance(exc, AuthClientError):
        body = getattr(exc, "content", "") or ""
        if exc.status_code == 400 and "invalid_grant" in str(body):
            return InvalidGrant(
                "QuickBooks no longer accepts the saved sign-in (invalid_grant). "
                "Reconnect QuickBooks.",
                status_code=400,
                vendor_code="invalid_grant",
            )
        return error_for_status(exc.status_code, f"QuickBooks sign-in failed ({exc.status_code})")
    if isinstance(exc, qb_exc.AuthorizationException):
        if exc.error_code == 401:
            return AccessTokenExpired("QuickBooks refused the access token", status_code=401)
        return AuthenticationError(_words(exc), vendor_code=str(exc.error_code))
    if isinstance(exc, qb_exc.QuickbooksException):
        code = int(exc.error_code or 0)
        kwargs = {"vendor_code": str(code), "status_code": 400}
        leaves = {
            5010: StaleObject,
            6240: DuplicateName,
            6140: DuplicateDocument,
            610: RemoteNotFound,
        }
        if code in leaves:
            return leaves[code](_words(exc), **kwargs)
        if code == 3001:
            return RateLimited("QuickBooks is throttling requests", retry_after=60, **kwargs)
        if code == 10000 and "Error reading json" in exc.message:
            return TemporaryError("QuickBooks sent an unreadable answer", **kwargs)
        return RejectedError(_words(exc), **kwargs)
    return None


def fault_error(fault: Mapping) -> ProviderError:
    error = (fault.get("Error") or [{}])[0]
    exc = qb_exc.QuickbooksException(
        error.get("Message", ""), error.get("code", 0), error.get("Detail", "")
    )
    return map_error(exc) or RejectedError(str(exc))


def token_set(auth: AuthClient) -> TokenSet:
    now = time.time()
    refresh_ttl = auth.x_refresh_token_expires_in
    return TokenSet(
        access_token=auth.access_token,
        refresh_token=auth.refresh_token,
        expires_at=now + float(auth.expires_in or 3600),
        refresh_expires_at=now + float(refresh_ttl) if refresh_ttl else None,
    )
