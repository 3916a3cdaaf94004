"""Provider registry and base class.

Each domain app keeps its vendors in a registry (accounting: quickbooks, xero; comms: twilio...).
A provider class only maps payloads and errors; the framework owns connections, counting, rate
limits and the error tree, so the rest of the app sees normalized results.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from apps.integrations.errors import NotConfigured
from apps.integrations.models.sync import ReportSeverity
from apps.integrations.schema import (
    COMMON_SETTINGS,
    CredentialField,
    SettingField,
    credentials_clean,
    setting_value,
    settings_clean,
)

if TYPE_CHECKING:
    from apps.integrations.models import IntegrationConnection, SyncLog


@dataclasses.dataclass(frozen=True)
class ConnectionCheck:
    ok: bool
    message: str
    account_name: str = ""


@dataclasses.dataclass(frozen=True)
class RecordFailure:
    """A per-record report of a sync run. Only ReportSeverity.ERROR fails the run; `dedupe_key`
    (the vendor change it is about) makes a report that the next pulls read again a single row."""

    record_type: str
    record_id: str
    message: str
    record_label: str = ""
    vendor_code: str = ""
    severity: str = ReportSeverity.ERROR
    dedupe_key: str = ""


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
    # What set-up takes (apps.integrations.schema). credential_fields None: derived from
    # required_credentials; settings are COMMON_SETTINGS plus setting_fields.
    credential_fields: ClassVar[tuple[CredentialField, ...] | None] = None
    setting_fields: ClassVar[tuple[SettingField, ...]] = ()
    base_url_help: ClassVar[str] = ""
    # resource -> {"every_minutes": N} or {"crontab": "m h dom mon dow"} (business time zone):
    # created for every new connection, whichever path set it up (services.connection_defaults_ensure).
    default_schedules: ClassVar[Mapping[str, Mapping[str, Any]]] = {}
    # Resources whose records made before the connection existed can be owed to it from a date.
    backfill_resources: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("credential_fields") is not None:
            cls.required_credentials = tuple(f.name for f in cls.credential_fields if f.required)

    def __init__(self, connection: IntegrationConnection):
        self.connection = connection

    @classmethod
    def credentials_schema(cls) -> tuple[CredentialField, ...]:
        if cls.credential_fields is not None:
            return cls.credential_fields
        return tuple(
            CredentialField(name, name.replace("_", " ").capitalize(), required=True)
            for name in cls.required_credentials
        )

    @classmethod
    def settings_schema(cls) -> tuple[SettingField, ...]:
        return COMMON_SETTINGS + tuple(cls.setting_fields)

    @classmethod
    def normalize_base_url(cls, url: str) -> str:
        """The API base URL as the adapter uses it (QuickBooks adds /v3 when it is missing)."""
        return (url or "").strip().rstrip("/")

    @property
    def base_url(self) -> str:
        return self.normalize_base_url(self.connection.api_base_url or self.default_base_url)

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

    def backfill(self, *, since: dt.date, resources: Sequence[str]) -> list[str]:
        """Owe the connection the records of `resources` made on or after `since`; returns one
        sentence per kind of record saying what was found and owed."""
        raise NotImplementedError(f"{self.key} has no backfill")


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


def registered_providers() -> list[type[Provider]]:
    """Every installed adapter, by domain then key (the CLI's describe, the generated docs)."""
    return [
        reg.get(key)
        for domain, reg in sorted(_all_registries.items())
        if domain != "testing"
        for key in reg.keys()  # noqa: SIM118  (a registry, not a dict)
    ]


def provider_class_for(key: str) -> type[Provider] | None:
    for reg in _all_registries.values():
        if (cls := reg.get(key)) is not None:
            return cls
    return None


def settings_fields_for(provider_key: str) -> tuple[SettingField, ...]:
    cls = provider_class_for(provider_key)
    return cls.settings_schema() if cls is not None else COMMON_SETTINGS


def credential_fields_for(provider_key: str) -> tuple[CredentialField, ...] | None:
    """None when no adapter is installed for the key (nothing reads its credentials yet)."""
    cls = provider_class_for(provider_key)
    return cls.credentials_schema() if cls is not None else None


def settings_parse(
    provider_key: str, values: Mapping[str, Any], *, by_system: bool = False
) -> dict[str, Any]:
    """Typed JSON for a provider's settings; SettingsInvalid (a DomainError) per refused key."""
    return settings_clean(settings_fields_for(provider_key), values, by_system=by_system)


def credentials_parse(provider_key: str, values: Mapping[str, Any]) -> dict[str, Any]:
    return credentials_clean(credential_fields_for(provider_key), values)


def connection_setting(connection: IntegrationConnection, name: str) -> Any:
    """The one way to read a connection's setting: typed, with the declared default."""
    return setting_value(settings_fields_for(connection.provider), connection.settings, name)


def connection_settings_stored(connection: IntegrationConnection) -> dict[str, Any]:
    """The declared settings stored on the connection, typed (defaults left out)."""
    declared = {f.name for f in settings_fields_for(connection.provider)}
    return {
        key: connection_setting(connection, key)
        for key in sorted(connection.settings or {})
        if key in declared
    }


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
