"""What a provider takes: its credential fields and its settings, declared next to the provider.

Every path that writes a connection (the CLI, the admin form, the API, the OAuth callback) parses
credentials and settings through these declarations, and every read of a setting goes through
`connection_setting()`, so a value is typed once (`"false"` is refused or becomes False, never a
truthy string), an unknown key is refused with the list of known ones, and the docs
(`manage.py integrations describe --markdown`, docs/integrations-reference.md) are generated from
the same declarations and cannot drift from them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import structlog
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from apps.core.errors import DomainError

logger = structlog.get_logger(__name__)

TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
FALSE_WORDS = frozenset({"false", "no", "off", "0"})


class FieldType(enum.StrEnum):
    TEXT = "text"
    BOOLEAN = "boolean"
    INTEGER = "integer"
    DECIMAL = "decimal"  # stored as a string ("8.25"), read as Decimal: never a float
    CHOICE = "choice"
    URL = "url"
    MAPPING = "mapping"  # a JSON object of declared keys -> text
    TIMESTAMP = "timestamp"  # epoch seconds; also accepts an ISO 8601 date-time with its offset


class SettingsInvalid(DomainError):
    """One or more keys refused; `errors` maps each key to its reason (form errors per key)."""

    def __init__(self, errors: Mapping[str, str], *, what: str = "setting"):
        self.errors = dict(errors)
        text = "; ".join(f"{what} '{key}': {reason}" for key, reason in self.errors.items())
        super().__init__(f"Refused {text}.", field=what + "s")


class _Invalid(ValueError):
    pass


def _parse_bool(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int) and raw in (0, 1):
        return bool(raw)
    if isinstance(raw, str) and raw.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return raw.strip().lower() in TRUE_WORDS
    raise _Invalid("expected true or false (also yes/no, on/off, 1/0)")


def _parse_int(raw: Any) -> int:
    if isinstance(raw, bool):
        raise _Invalid("expected a whole number")
    if isinstance(raw, int):
        return raw
    if isinstance(raw, float) and raw.is_integer():
        return int(raw)
    if isinstance(raw, str) and raw.strip().lstrip("+-").isdigit():
        return int(raw.strip())
    raise _Invalid("expected a whole number")


def _parse_decimal(raw: Any) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float | Decimal):
        raise _Invalid("expected a number such as 8.25")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise _Invalid("expected a number such as 8.25") from None
    if not value.is_finite():
        raise _Invalid("expected a number such as 8.25")
    return value


def _parse_timestamp(raw: Any) -> float:
    if isinstance(raw, bool):
        raise _Invalid("expected epoch seconds or an ISO 8601 date-time")
    if isinstance(raw, int | float):
        return float(raw)
    if isinstance(raw, str):
        text = raw.strip()
        try:
            return float(text)
        except ValueError:
            pass
        try:
            when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise _Invalid("expected epoch seconds or an ISO 8601 date-time") from None
        if when.tzinfo is None:
            raise _Invalid("an ISO 8601 date-time needs its offset (e.g. +00:00 or Z)")
        return when.timestamp()
    raise _Invalid("expected epoch seconds or an ISO 8601 date-time")


@dataclasses.dataclass(frozen=True)
class SettingField:
    """One per-connection setting: parsed into its type, validated, documented."""

    name: str
    type: FieldType
    default: Any = None
    help: str = ""
    label: str = ""
    choices: tuple[str, ...] = ()
    min_value: int | Decimal | None = None
    max_value: int | Decimal | None = None
    keys: tuple[str, ...] = ()  # MAPPING: the keys it may hold
    editable: bool = True  # False: the connection records it itself (company name, currency)

    @property
    def title(self) -> str:
        return self.label or self.name.replace("_", " ").capitalize()

    def parse(self, raw: Any) -> Any:
        """The typed value of `raw` (a CLI/form string or a stored JSON value); _Invalid if bad."""
        t = self.type
        if t is FieldType.BOOLEAN:
            return _parse_bool(raw)
        if t is FieldType.INTEGER:
            value = _parse_int(raw)
        elif t is FieldType.DECIMAL:
            value = _parse_decimal(raw)
        elif t is FieldType.TIMESTAMP:
            return _parse_timestamp(raw)
        elif t is FieldType.MAPPING:
            return self._parse_mapping(raw)
        else:
            if not isinstance(raw, str):
                raise _Invalid("expected text")
            value = raw.strip()
            if t is FieldType.CHOICE and value not in self.choices:
                raise _Invalid(f"expected one of: {', '.join(self.choices)}")
            if t is FieldType.URL and value:
                try:
                    URLValidator(schemes=["http", "https"])(value)
                except ValidationError:
                    raise _Invalid("expected an http(s) URL") from None
            return value
        if self.min_value is not None and value < self.min_value:
            raise _Invalid(f"must be at least {self.min_value}")
        if self.max_value is not None and value > self.max_value:
            raise _Invalid(f"must be at most {self.max_value}")
        return value

    def _parse_mapping(self, raw: Any) -> dict[str, str]:
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError:
                raise _Invalid('expected a JSON object such as {"key": "value"}') from None
        if not isinstance(raw, Mapping):
            raise _Invalid('expected a JSON object such as {"key": "value"}')
        unknown = sorted(set(raw) - set(self.keys)) if self.keys else []
        if unknown:
            raise _Invalid(f"unknown key(s) {', '.join(unknown)}; it takes: {', '.join(self.keys)}")
        if any(isinstance(v, dict | list) for v in raw.values()):
            raise _Invalid("each value must be text or a number")
        return {str(k): "" if v is None else str(v) for k, v in raw.items()}

    def to_json(self, value: Any) -> Any:
        """What is stored in the connection's JSON settings (Decimal as a string, never a float)."""
        return str(value) if isinstance(value, Decimal) else value

    def describe(self) -> dict:
        return {
            "name": self.name,
            "type": str(self.type),
            "default": self.to_json(self.default),
            "help": self.help,
            "choices": list(self.choices),
            "keys": list(self.keys),
            "min": self.to_json(self.min_value),
            "max": self.to_json(self.max_value),
            "editable": self.editable,
        }

    def form_field(self):
        """A Django form field for the set-up pages (issue 16) and the admin."""
        from django import forms

        common = {"label": self.title, "help_text": self.help, "required": False}
        if self.type is FieldType.BOOLEAN:
            return forms.NullBooleanField(**common)
        if self.type is FieldType.INTEGER:
            return forms.IntegerField(min_value=self.min_value, max_value=self.max_value, **common)
        if self.type is FieldType.DECIMAL:
            return forms.DecimalField(min_value=self.min_value, max_value=self.max_value, **common)
        if self.type is FieldType.CHOICE:
            return forms.ChoiceField(
                choices=[("", "(default)"), *[(c, c) for c in self.choices]], **common
            )
        if self.type is FieldType.URL:
            return forms.URLField(assume_scheme="https", **common)
        if self.type is FieldType.MAPPING:
            return forms.JSONField(**common)
        return forms.CharField(**common)


@dataclasses.dataclass(frozen=True)
class CredentialField:
    """One key of a connection's encrypted credentials document."""

    name: str
    label: str
    help: str = ""
    secret: bool = True  # shown masked; False: shown in full (an account id, an expiry)
    required: bool = False  # needed before the connection works (checked by `test`, not at set-up)
    type: FieldType = FieldType.TEXT  # TEXT or TIMESTAMP
    from_oauth: bool = False  # written by "Connect"; give it only to import an existing sign-in

    def parse(self, raw: Any) -> Any:
        if self.type is FieldType.TIMESTAMP:
            return None if raw in (None, "") else _parse_timestamp(raw)
        if raw is None:
            return ""
        if isinstance(raw, bool) or not isinstance(raw, str | int | float):
            raise _Invalid("expected text")
        return str(raw).strip()

    def describe(self) -> dict:
        return {
            "name": self.name,
            "label": self.label,
            "help": self.help,
            "secret": self.secret,
            "required": self.required,
            "type": str(self.type),
            "from_oauth": self.from_oauth,
        }


# Settings every connection takes, whatever its vendor (read by monitoring).
COMMON_SETTINGS: tuple[SettingField, ...] = (
    SettingField(
        "expected_activity_minutes",
        FieldType.INTEGER,
        default=None,
        min_value=1,
        help=(
            "For vendors that call us (webhooks) rather than being polled: monitoring calls the "
            "connection stale after this many minutes without activity. Empty: only its sync "
            "schedules say when activity is expected."
        ),
    ),
)


def _fields_by_name(fields) -> dict[str, Any]:
    return {f.name: f for f in fields}


def settings_clean(
    fields: tuple[SettingField, ...], values: Mapping[str, Any], *, by_system: bool = False
) -> dict[str, Any]:
    """The JSON to store for `values`, each parsed into its type; SettingsInvalid lists every
    refused key. A None value removes the key (back to its default)."""
    declared = _fields_by_name(fields)
    cleaned, errors = {}, {}
    for key, raw in values.items():
        field = declared.get(key)
        if field is None:
            known = ", ".join(sorted(n for n, f in declared.items() if f.editable)) or "none"
            errors[key] = f"unknown for this provider (it takes: {known})"
            continue
        if not field.editable and not by_system:
            errors[key] = "recorded by the connection itself; it cannot be set"
            continue
        if raw is None or (raw == "" and field.type is not FieldType.TEXT):
            cleaned[key] = None
            continue
        try:
            cleaned[key] = field.to_json(field.parse(raw))
        except _Invalid as exc:
            errors[key] = f"{exc} (got {json.dumps(raw, default=str)[:60]})"
    if errors:
        raise SettingsInvalid(errors)
    return cleaned


def credentials_clean(
    fields: tuple[CredentialField, ...] | None, values: Mapping[str, Any]
) -> dict[str, Any]:
    """Credentials parsed per their declaration. `fields` None: the provider declares nothing
    (no adapter installed yet), so keys are kept as given. Values never appear in errors."""
    if not isinstance(values, Mapping):
        raise DomainError("Credentials must be a JSON object.", field="credentials")
    if fields is None:
        return dict(values)
    declared = _fields_by_name(fields)
    cleaned, errors = {}, {}
    for key, raw in values.items():
        field = declared.get(key)
        if field is None:
            known = ", ".join(declared) or "none"
            errors[key] = f"unknown for this provider (it takes: {known})"
            continue
        try:
            cleaned[key] = field.parse(raw)
        except _Invalid as exc:
            errors[key] = str(exc)  # no value quoted: it may be a secret
    if errors:
        raise SettingsInvalid(errors, what="credential")
    return cleaned


def setting_value(fields: tuple[SettingField, ...], stored: Mapping | None, name: str) -> Any:
    """The typed value of one setting: stored, else its default. A stored value that no longer
    parses (written before settings were typed) reads as the default and is logged."""
    field = _fields_by_name(fields).get(name)
    if field is None:
        raise LookupError(f"Setting '{name}' is not declared for this provider.")
    raw = (stored or {}).get(name)
    if raw is None:
        return field.default
    try:
        value = field.parse(raw)
    except _Invalid as exc:
        logger.warning("integration_setting_unreadable", setting=name, reason=str(exc))
        return field.default
    if field.type is FieldType.MAPPING and isinstance(field.default, Mapping):
        return {**field.default, **value}
    return value
