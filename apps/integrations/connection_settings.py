"""Writes of a connection's settings: parsed by the provider's declarations, merged under a row
lock so a concurrent edit of other keys (or the adapter recording what it learnt) is kept."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction

from apps.integrations.models import IntegrationConnection
from apps.integrations.providers import settings_fields_for, settings_parse


def merge_settings(current: Mapping | None, cleaned: Mapping[str, Any]) -> dict:
    merged = {**(current or {}), **cleaned}
    return {key: value for key, value in merged.items() if value is not None}


@transaction.atomic
def connection_settings_update(
    *, connection: IntegrationConnection, values: Mapping[str, Any], replace: bool = False
) -> IntegrationConnection:
    """Set settings a person chose (CLI, admin, API); a None value returns a key to its default.

    `replace`: the given values are the whole document (the admin's form); the settings the
    connection records itself (company name, home currency) are kept either way.
    """
    cleaned = settings_parse(connection.provider, values)
    locked = IntegrationConnection.objects.select_for_update().get(pk=connection.pk)
    current = dict(locked.settings or {})
    if replace:
        system = {f.name for f in settings_fields_for(connection.provider) if not f.editable}
        current = {k: v for k, v in current.items() if k in system}
    locked.settings = merge_settings(current, cleaned)
    locked.save(update_fields=["settings", "updated_at"])
    connection.settings = locked.settings
    return connection


def connection_settings_record(
    *, connection: IntegrationConnection, values: Mapping[str, Any]
) -> IntegrationConnection:
    """Settings the adapter learns from the vendor (home currency, company name), typed like the
    rest; written with a row lock so a person's concurrent edit of other keys is kept."""
    cleaned = settings_parse(connection.provider, values, by_system=True)
    with transaction.atomic():
        locked = IntegrationConnection.objects.select_for_update().get(pk=connection.pk)
        locked.settings = merge_settings(locked.settings, cleaned)
        locked.save(update_fields=["settings", "updated_at"])
    connection.settings = locked.settings
    return connection
