"""Events routing publishes (after commit) for other apps: comms texts technicians and
customers, the tracking link shows the live ETA. Subscribe with apps.core.events.subscribe."""

from __future__ import annotations

import dataclasses
import datetime as dt


@dataclasses.dataclass(frozen=True, kw_only=True)
class RoutePlanApplied:
    business_id: int
    plan_id: int
    date: dt.date
    # Technicians whose route changed (a dispatch text), and work orders whose technician or
    # arrival time changed (an updated window for the customer).
    technician_ids: tuple[int, ...]
    work_order_ids: tuple[int, ...]
    applied_by_id: int | None
    occurred_at: dt.datetime


@dataclasses.dataclass(frozen=True, kw_only=True)
class TechnicianEtasUpdated:
    business_id: int
    technician_id: int
    plan_id: int
    work_order_ids: tuple[int, ...]  # remaining stops, in order, with fresh ETAs
    occurred_at: dt.datetime
