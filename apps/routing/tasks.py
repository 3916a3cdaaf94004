"""Celery tasks (queue "bulk"): load by id, call one idempotent service."""

from __future__ import annotations

import datetime as dt

from celery import shared_task


@shared_task(acks_late=True)
def route_replan_task(*, business_id: int, date: str, trigger: str, trigger_key: str) -> None:
    from apps.core.models import Business
    from apps.routing.services.plans import route_plan_create

    business = Business.objects.filter(pk=business_id).first()
    if business is None:
        return
    # Idempotent: a plan with this trigger_key is created once; a redelivery returns it.
    route_plan_create(
        business=business,
        date=dt.date.fromisoformat(date),
        trigger=trigger,
        trigger_key=trigger_key,
    )
