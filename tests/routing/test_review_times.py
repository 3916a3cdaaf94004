"""The plan review page in the business's clock: shifts, ETAs and windows in one zone (the one
the map's labels use), said on the page, for office users and platform superusers alike."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.core.admin.permissions import grant_office_permissions
from apps.core.models import User
from apps.routing.models import TechnicianRoute
from apps.routing.services.plans import route_plan_create

from .conftest import DENVER, at


@pytest.fixture
def plan(world, plan_date):
    world.technician("Ann", "downtown")
    world.job("highlands", window=(at(plan_date, 9), at(plan_date, 11)), summary="No cooling")
    return route_plan_create(business=world.business, date=plan_date)


def _heading_times(page: str) -> list[str]:
    return re.findall(r"Ann Tech &middot; (\d\d:\d\d)&ndash;(\d\d:\d\d)", page)


@pytest.mark.parametrize("who", ["dispatcher", "platform superuser"])
def test_review_times_are_local_and_say_their_zone(client, dispatcher, plan, who):
    if who == "dispatcher":
        grant_office_permissions(dispatcher)
        client.force_login(dispatcher)
    else:
        client.force_login(
            User.objects.create_superuser("platform", "p@example.com", "x", business=None)
        )
    page = client.get(reverse("admin:routing_routeplan_review", args=[plan.pk])).content.decode()
    route = TechnicianRoute.objects.get(plan=plan)
    stop = route.stops.get()
    local = f"{route.start_at.astimezone(DENVER):%H:%M}", f"{route.end_at.astimezone(DENVER):%H:%M}"
    assert _heading_times(page) == [local]
    assert f"<td>{stop.eta.astimezone(DENVER):%H:%M}</td>" in page
    assert "<td>09:00-11:00</td>" in page  # the window, already local
    abbreviation = at(plan.date, 12).tzname()
    assert f"All times are {abbreviation} (America/Denver) local time." in page
