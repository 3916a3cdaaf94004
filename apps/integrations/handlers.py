"""Domain-event subscriptions. Each only enqueues a task after commit (events.py's contract)."""

from __future__ import annotations

from apps.core import events


@events.subscribe(events.BusinessTimezoneChanged)
def on_business_timezone_changed(event: events.BusinessTimezoneChanged) -> None:
    from apps.integrations.tasks import connection_schedules_rezone_task

    connection_schedules_rezone_task.delay(event.business_id)
