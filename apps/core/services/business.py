"""Writes on the business itself."""

from __future__ import annotations

import zoneinfo

from django.db import transaction
from django.utils import timezone

from apps.core import events
from apps.core.errors import DomainError
from apps.core.models import Business
from apps.core.timezones import zone_of


@transaction.atomic
def business_timezone_set(*, business: Business, timezone_name: str) -> Business:
    """Move the business to another local time. Published on a real change only, so sync
    schedules (integrations) and anything else keyed to local clock times can follow."""
    try:
        zone = zoneinfo.ZoneInfo(timezone_name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise DomainError(
            f"“{timezone_name}” is not a known time zone.", field="timezone"
        ) from None
    locked = Business.objects.select_for_update().get(pk=business.pk)
    previous = zone_of(locked)
    if previous.key == zone.key:
        return locked
    locked.timezone = zone
    locked.save(update_fields=["timezone", "updated_at"])
    business.timezone = zone
    events.publish_on_commit(
        events.BusinessTimezoneChanged(
            business_id=locked.pk,
            timezone=zone.key,
            previous_timezone=previous.key,
            occurred_at=timezone.now(),
        )
    )
    return locked
