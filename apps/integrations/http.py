"""The one outbound HTTP client base: timeouts, rate limits, error mapping, counting.

Adapters whose vendor has no SDK (Slack webhooks, OSRM, matrix APIs) subclass ApiClient; adapters
that drive a vendor SDK wrap each SDK call in activity.tracked() with an error mapper built on
error_for_status(), so both paths feed the same error tree and the same counts.
"""

from __future__ import annotations

import datetime as dt
from email.utils import parsedate_to_datetime

import requests
from django.conf import settings
from django.utils import timezone

from apps.integrations.activity import tracked
from apps.integrations.errors import (
    AuthenticationError,
    ProviderError,
    RateLimited,
    RejectedError,
    TemporaryError,
)
from apps.integrations.models import IntegrationConnection
from apps.integrations.providers import RateLimitPolicy
from apps.integrations.ratelimit import Limiter, limiter_for


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - timezone.now()).total_seconds())


def error_for_status(
    status_code: int, message: str, *, retry_after: float | None = None, vendor_code: str = ""
) -> ProviderError | None:
    """Map an HTTP status to the error tree; None for success."""
    if status_code < 400:
        return None
    kwargs = {"status_code": status_code, "vendor_code": vendor_code}
    if status_code == 429:
        return RateLimited(message or "Too many requests", retry_after=retry_after, **kwargs)
    if status_code in (401, 403):
        return AuthenticationError(message or "The vendor refused our credentials", **kwargs)
    if status_code in (408, 425) or status_code >= 500:
        return TemporaryError(message or f"The vendor answered {status_code}", **kwargs)
    return RejectedError(message or f"The vendor rejected the request ({status_code})", **kwargs)


def _transport_error(exc: BaseException) -> ProviderError | None:
    if isinstance(exc, requests.Timeout):
        return TemporaryError(f"The vendor did not answer in time ({type(exc).__name__})")
    if isinstance(exc, requests.ConnectionError):
        return TemporaryError("Could not reach the vendor (connection failed)")
    return None


class ApiClient:
    default_base_url: str = ""
    rate_limits: RateLimitPolicy = RateLimitPolicy()

    def __init__(
        self,
        connection: IntegrationConnection,
        *,
        base_url: str | None = None,
        session: requests.Session | None = None,
        limiter: Limiter | None = None,
    ):
        self.connection = connection
        self.base_url = (base_url or connection.api_base_url or self.default_base_url).rstrip("/")
        self.session = session or requests.Session()
        self.limiter = limiter or limiter_for(connection.pk, self.rate_limits)
        self.timeout = (
            settings.INTEGRATIONS_HTTP_CONNECT_TIMEOUT,
            settings.INTEGRATIONS_HTTP_READ_TIMEOUT,
        )

    def auth_headers(self) -> dict[str, str]:
        return {}

    def error_message(self, response: requests.Response) -> str:
        """The vendor's own words, shortened; subclasses parse their error body."""
        return f"{response.status_code} {response.reason}: {response.text[:300]}".strip()

    def request(
        self, method: str, path: str, *, operation: str | None = None, **kwargs
    ) -> requests.Response:
        url = (
            path
            if path.startswith(("http://", "https://"))
            else f"{self.base_url}/{path.lstrip('/')}"
        )
        headers = {**self.auth_headers(), **kwargs.pop("headers", {})}
        kwargs.setdefault("timeout", self.timeout)
        operation = operation or f"{method.upper()} {path.split('?')[0]}"
        with (
            self.limiter.slot(),
            tracked(self.connection, operation, error_mapper=_transport_error) as info,
        ):
            response = self.session.request(method, url, headers=headers, **kwargs)
            info["status_code"] = response.status_code
            error = error_for_status(
                response.status_code,
                self.error_message(response),
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
            if error is not None:
                raise error
            return response

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return self.request("POST", path, **kwargs)
