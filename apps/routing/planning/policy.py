"""How the planner weighs things. Defaults suit a home-services business; override any of them
with the ROUTING_POLICY setting (a dict of the field names below)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclasses.dataclass(frozen=True)
class Policy:
    # Costs are in seconds of driving: the solver minimises drive time, and leaves a job out
    # only when fitting it would cost more driving (or overtime) than the job is worth.
    emergency_prize: float = 36_000.0  # worth ten hours of driving
    promised_prize: float = 14_400.0  # a window promised to the customer: four hours
    backlog_prize: float = 3_600.0  # no window yet: fills free time, never forces overtime
    high_priority_factor: float = 2.0
    # A job dispatched to a technician stays theirs: worth more than a promised window even at
    # high priority, so the search keeps it unless it truly cannot fit (it is then listed as
    # kept with them, never given away). Below an emergency, which may displace it.
    pinned_prize: float = 30_000.0
    # An emergency's latest arrival is the earliest any eligible technician could get there
    # plus this slack; it makes the emergency the technician's next stop.
    emergency_slack_minutes: int = 30
    # Time and a half: an overtime second costs 1.5 seconds of driving. A promised window is
    # kept with up to about two hours of overtime; backlog never causes overtime.
    overtime_weight: float = 1.5
    continuity_bonus_seconds: float = 600.0  # the customer's usual technician
    keep_assignment_bonus_seconds: float = 900.0  # today's technician, so re-plans stay calm
    # Lunch (the technician's lunch_break_minutes) starts and ends inside this period.
    lunch_from: dt.time = dt.time(11, 0)
    lunch_until: dt.time = dt.time(14, 0)
    # What taking lunch is worth to the solver. Below the backlog prize, so a lunch never
    # leaves a job unassigned; high enough to be worth half an hour of overtime at time and a
    # half. None makes lunch required (a job is dropped rather than the lunch).
    lunch_prize: float | None = 3_000.0
    arrival_window_minutes: int = 120  # window given on apply to jobs that had none
    location_max_age_minutes: int = 120  # older technician positions are ignored
    on_site_min_remaining_minutes: int = 10  # a job running long still needs some time
    # The days that may be planned: today up to this many days ahead, in the business's zone.
    # Jobs are booked a few weeks out at most; a day further away has nothing to plan and only
    # costs a solver run (and dates near the calendar's end overflow day arithmetic).
    horizon_days: int = 60
    plan_seconds: float = 5.0  # solver budget for a full day
    replan_seconds: float = 1.0  # solver budget when re-planning (within the 2 s promise)


def policy() -> Policy:
    overrides = getattr(settings, "ROUTING_POLICY", None) or {}
    known = {f.name for f in dataclasses.fields(Policy)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ImproperlyConfigured(
            f"ROUTING_POLICY has unknown keys {unknown}; known keys: {', '.join(sorted(known))}."
        )
    return dataclasses.replace(Policy(), **overrides)
