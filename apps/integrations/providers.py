"""Provider registry and base class.

Each domain app keeps its vendors in a registry (accounting: quickbooks, xero; comms: twilio...).
A provider class only maps payloads and errors; the framework owns connections, counting, rate
limits and the error tree, so the rest of the app sees normalized results.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, ClassVar

from apps.integrations.errors import NotConfigured

if TYPE_CHECKING:
    from apps.integrations.models import IntegrationConnection, SyncLog


@dataclasses.dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    message: str
    account_name: str = ""


@dataclasses.dataclass(frozen=True)
class RecordFailure:
    record_type: str
    record_id: str
    message: str
    record_label: str = ""
    vendor_code: str = ""


@dataclasses.dataclass(frozen=True)
class SyncOutcome:
    """What one resource sync did; failures are per record, so one bad row never stops the rest."""

    processed: int = 0
    succeeded: int = 0
    failures: tuple[RecordFailure, ...] = ()
    message: str = ""


@dataclasses.dataclass(frozen=True)
class RateLimitPolicy:
    """Vendor limits per connection. Each window is (requests, seconds)."""

    windows: tuple[tuple[int, float], ...] = ()
    max_in_flight: int | None = None


class Provider:
    key: ClassVar[str]
    domain: ClassVar[str]
    display_name: ClassVar[str] = ""
    default_base_url: ClassVar[str] = ""
    required_credentials: ClassVar[tuple[str, ...]] = ()
    resources: ClassVar[dict[str, str]] = {}  # resource -> default direction
    rate_limits: ClassVar[RateLimitPolicy] = RateLimitPolicy()

    def __init__(self, connection: IntegrationConnection):
        self.connection = connection

    @property
    def base_url(self) -> str:
        return (self.connection.api_base_url or self.default_base_url).rstrip("/")

    def check_credentials(self) -> None:
        missing = [
            k for k in self.required_credentials if not (self.connection.credentials or {}).get(k)
        ]
        if missing:
            raise NotConfigured(
                f"Missing credentials: {', '.join(missing)}. Add them to the connection "
                "(Integrations > Connections > Replace credentials), then test it."
            )

    def test_connection(self) -> ConnectionCheck:
        raise NotImplementedError

    def sync(self, *, resource: str, sync_log: SyncLog) -> SyncOutcome:
        raise NotImplementedError(f"{self.key} does not sync {resource}")


class ProviderRegistry:
    def __init__(self, domain: str):
        self.domain = domain
        self._providers: dict[str, type[Provider]] = {}

    def register(self, provider_class: type[Provider]) -> type[Provider]:
        provider_class.domain = self.domain
        self._providers[provider_class.key] = provider_class
        _all_registries.setdefault(self.domain, self)
        return provider_class

    def unregister(self, key: str) -> None:
        self._providers.pop(key, None)

    def get(self, key: str) -> type[Provider] | None:
        return self._providers.get(key)

    def keys(self) -> Sequence[str]:
        return sorted(self._providers)


_all_registries: dict[str, ProviderRegistry] = {}


def registry(domain: str) -> ProviderRegistry:
    """The registry of one domain, created on first use."""
    return _all_registries.setdefault(domain, ProviderRegistry(domain))


def provider_class_for(key: str) -> type[Provider] | None:
    for reg in _all_registries.values():
        if (cls := reg.get(key)) is not None:
            return cls
    return None


def provider_for(connection: IntegrationConnection) -> Provider:
    cls = provider_class_for(connection.provider)
    if cls is None:
        raise NotConfigured(f"No adapter is installed for {connection.get_provider_display()} yet.")
    return cls(connection)


@contextlib.contextmanager
def override_provider(
    key: str, provider_class: type[Provider], *, domain: str = "testing"
) -> Iterator[None]:
    """Swap the adapter for a provider key (tests, and trying a new adapter in a shell)."""
    home = next((reg for reg in _all_registries.values() if reg.get(key)), None) or registry(domain)
    previous = home.get(key)
    provider_class.key = key
    home.register(provider_class)
    try:
        yield
    finally:
        if previous is not None:
            home.register(previous)
        else:
            home.unregister(key)
