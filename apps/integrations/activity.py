"""Counting: every outbound call, sync, webhook and message lands as one IntegrationActivity row.

Monitoring builds health and reports from these rows. An authentication failure also flips the
connection to "needs reconnect", so the dispatcher sees it instead of every sync failing silently.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator

import structlog
from django.utils import timezone

from apps.integrations.errors import (
    AuthenticationError,
    NotConfigured,
    ProviderError,
    RateLimited,
    RejectedError,
    TemporaryError,
)
from apps.integrations.models import (
    ActivityKind,
    ConnectionStatus,
    IntegrationActivity,
    IntegrationConnection,
    Outcome,
)
from apps.integrations.redaction import redact

logger = structlog.get_logger(__name__)

ErrorMapper = Callable[[BaseException], ProviderError | None]


def outcome_of(error: BaseException | None) -> str:
    if error is None:
        return Outcome.SUCCESS
    if isinstance(error, RateLimited):
        return Outcome.RATE_LIMITED
    if isinstance(error, AuthenticationError):
        return Outcome.AUTH_ERROR
    if isinstance(error, RejectedError):
        return Outcome.REJECTED
    if isinstance(error, NotConfigured):
        return Outcome.CONFIG_ERROR
    return Outcome.TEMPORARY_ERROR


def safe_message(connection: IntegrationConnection, error: BaseException) -> str:
    return redact(str(error), connection.secret_values())[:500]


def activity_record(
    *,
    connection: IntegrationConnection,
    kind: str,
    operation: str,
    outcome: str,
    duration_ms: int = 0,
    status_code: int | None = None,
    error_message: str = "",
) -> IntegrationActivity:
    return IntegrationActivity.objects.create(
        business_id=connection.business_id,
        connection=connection,
        kind=kind,
        operation=operation[:120],
        outcome=outcome,
        status_code=status_code,
        duration_ms=max(0, duration_ms),
        error_message=redact(error_message, connection.secret_values())[:500],
        occurred_at=timezone.now(),
    )


def connection_note_failure(connection: IntegrationConnection, error: BaseException) -> None:
    message = safe_message(connection, error)
    fields = {"last_error": message, "last_error_at": timezone.now()}
    if isinstance(error, AuthenticationError):
        fields["status"] = ConnectionStatus.NEEDS_RECONNECT
    IntegrationConnection.objects.filter(pk=connection.pk).update(**fields)
    for name, value in fields.items():
        setattr(connection, name, value)
    logger.warning(
        "integration_failure",
        connection_id=connection.pk,
        provider=connection.provider,
        error_class=type(error).__name__,
        error=message,
    )


@contextlib.contextmanager
def tracked(
    connection: IntegrationConnection,
    operation: str,
    *,
    kind: str = ActivityKind.API_CALL,
    error_mapper: ErrorMapper | None = None,
) -> Iterator[dict]:
    """Time a vendor operation, map its exception into the error tree, and count the outcome.

    Wrap SDK calls in this (the SDKs do their own HTTP); ApiClient uses it for direct calls. The
    yielded dict may receive "status_code".
    """
    info: dict = {}
    started = time.monotonic()
    error: BaseException | None = None
    try:
        yield info
    except ProviderError as exc:
        error = exc
        raise
    except Exception as exc:
        mapped = error_mapper(exc) if error_mapper else None
        error = mapped or exc
        if mapped is not None:
            raise mapped from exc
        raise
    finally:
        status_code = info.get("status_code") or getattr(error, "status_code", None)
        activity_record(
            connection=connection,
            kind=kind,
            operation=operation,
            outcome=outcome_of(error),
            duration_ms=int((time.monotonic() - started) * 1000),
            status_code=status_code,
            error_message=str(error) if error else "",
        )
        if error is not None and isinstance(
            error, AuthenticationError | TemporaryError | RejectedError
        ):
            connection_note_failure(connection, error)
