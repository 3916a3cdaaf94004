"""Signed tracking tokens: the work order and its business, unguessable, valid for a week.

The token is the only credential for a public page, so it is signed (SECRET_KEY, own salt) and
time-limited: texts are often read hours or days later, but not forever.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core import signing
from django.urls import reverse

from apps.core.models import WorkOrder

SALT = "routing.tracking"
DEFAULT_MAX_AGE = dt.timedelta(days=7)


def max_age() -> dt.timedelta:
    return getattr(settings, "ROUTING_TRACKING_MAX_AGE", DEFAULT_MAX_AGE)


def token_for(work_order: WorkOrder) -> str:
    return signing.dumps({"w": work_order.pk, "b": work_order.business_id}, salt=SALT)


def work_order_for_token(token: str) -> WorkOrder | None:
    """The order the token names, or None when it is forged, expired or not that business's."""
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age())
        work_order_id, business_id = int(data["w"]), int(data["b"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    # Both ids must agree: a token is only ever good for one order of one business.
    return (
        WorkOrder.objects.filter(pk=work_order_id, business_id=business_id)
        .select_related("business", "location", "assigned_technician__user")
        .first()
    )


def tracking_url_for(work_order: WorkOrder) -> str:
    path = reverse("tracking:page", kwargs={"token": token_for(work_order)})
    return f"{settings.PUBLIC_BASE_URL}{path}"


def tracking_link(*, work_order: WorkOrder, url_format: str = "") -> str:
    """Our page, unless the business set its own URL ({work_order_number}, {tracking_token})."""
    if not url_format:
        return tracking_url_for(work_order)
    return url_format.format(
        work_order_number=work_order.number, tracking_token=token_for(work_order)
    )
