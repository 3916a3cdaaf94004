"""The "optimize day" admin: form, review page (map, routes, unassigned reasons), apply/discard."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from apps.core.admin.permissions import grant_office_permissions
from apps.routing.models import RoutePlan
from apps.routing.services.plans import route_plan_create

from .conftest import DENVER, assert_feasible, at


@pytest.fixture
def office(client, dispatcher):
    grant_office_permissions(dispatcher)
    client.force_login(dispatcher)
    return client


@pytest.fixture
def day(world, plan_date):
    ann = world.technician("Ann", "downtown", skills=["hvac"])
    world.technician("Bob", "lakewood")
    world.job("highlands", window=(at(plan_date, 9), at(plan_date, 11)), summary="No cooling")
    world.job("capitol_hill", skills=["solar"], summary="Panel install")
    return ann


def test_optimize_day_makes_a_draft_and_shows_it(office, day, plan_date, dispatcher):
    page = office.get(reverse("admin:routing_routeplan_optimize"))
    assert page.status_code == 200 and b"Optimize" in page.content
    response = office.post(
        reverse("admin:routing_routeplan_optimize"),
        {"date": plan_date.isoformat(), "time_limit": "0.5"},
    )
    plan = RoutePlan.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:routing_routeplan_review", args=[plan.pk])
    assert (plan.business, plan.created_by, plan.status) == (day.business, dispatcher, "draft")
    assert_feasible(plan)
    review = office.get(response["Location"]).content.decode()
    assert "<svg" in review and "<polyline" in review  # the routes, drawn
    assert "Ann Tech" in review and "No cooling" in review and "09:00-11:00" in review
    assert "Panel install" in review and "Skill missing" in review
    assert "No technician has the &#x27;Solar&#x27; skill" in review
    assert 'value="apply"' in review and "What applying changes" in review


def test_apply_and_discard_from_the_review_page(office, day, plan_date, world):
    plan = route_plan_create(business=world.business, date=plan_date)
    url = reverse("admin:routing_routeplan_review", args=[plan.pk])
    response = office.post(url, {"action": "apply"}, follow=True)
    assert b"applied" in response.content
    plan.refresh_from_db()
    assert plan.status == RoutePlan.Status.APPLIED
    page = office.get(url).content.decode()
    assert 'value="apply"' not in page  # nothing left to decide
    again = office.post(url, {"action": "discard"}, follow=True)
    assert b"Only a draft can be discarded" in again.content
    plan.refresh_from_db()
    assert plan.status == RoutePlan.Status.APPLIED


def test_a_past_date_is_a_form_error(office, day):
    response = office.post(
        reverse("admin:routing_routeplan_optimize"), {"date": "2020-01-01", "time_limit": "1"}
    )
    assert response.status_code == 200 and b"That day is over" in response.content
    assert not RoutePlan.objects.exists()


def test_a_date_beyond_the_planning_horizon_is_a_form_error(office, day):
    far = dt.datetime.now(DENVER).date() + dt.timedelta(days=61)
    response = office.post(
        reverse("admin:routing_routeplan_optimize"), {"date": far.isoformat(), "time_limit": "1"}
    )
    assert response.status_code == 200 and b"is too far ahead" in response.content
    assert not RoutePlan.objects.exists()


def test_another_business_plan_is_not_found(office, rival_world, plan_date):
    rival_world.technician("Rex")
    rival_world.job("highlands")
    theirs = route_plan_create(business=rival_world.business, date=plan_date)
    url = reverse("admin:routing_routeplan_review", args=[theirs.pk])
    assert office.get(url).status_code == 404
    assert office.post(url, {"action": "apply"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == RoutePlan.Status.DRAFT
    changelist = office.get(reverse("admin:routing_routeplan_changelist")).content.decode()
    assert str(theirs.date.year) not in changelist or f"plan #{theirs.pk}" not in changelist


def test_the_changelist_offers_optimize_day(office, day, plan_date, world):
    route_plan_create(business=world.business, date=plan_date)
    page = office.get(reverse("admin:routing_routeplan_changelist")).content.decode()
    assert reverse("admin:routing_routeplan_optimize") in page and "1 / 1" in page


def test_map_tiles_appear_when_a_tile_server_is_configured(office, day, plan_date, world, settings):
    plan = route_plan_create(business=world.business, date=plan_date)
    url = reverse("admin:routing_routeplan_review", args=[plan.pk])
    assert "<image" not in office.get(url).content.decode()
    settings.ROUTING_TILE_URL = "https://tiles.example.com/{z}/{x}/{y}.png"
    page = office.get(url).content.decode()
    assert 'href="https://tiles.example.com/' in page and "<image" in page


def test_technicians_do_not_get_in(client, world, day):
    client.force_login(day.user)
    response = client.get(reverse("admin:routing_routeplan_optimize"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_location_history_is_read_only(office, day):
    from apps.routing.services.locations import technician_location_record

    technician_location_record(technician=day, latitude=39.74, longitude=-104.99)
    page = office.get(reverse("admin:routing_technicianlocation_changelist"))
    assert page.status_code == 200 and b"39.74" in page.content
    assert office.get(reverse("admin:routing_technicianlocation_add")).status_code == 403


def test_dates_are_checked_in_the_business_time_zone(office, day):
    today = dt.datetime.now(DENVER).date() + dt.timedelta(days=1)
    response = office.post(
        reverse("admin:routing_routeplan_optimize"),
        {"date": today.isoformat(), "time_limit": "50"},
    )
    assert response.status_code == 200 and b"less than or equal to 30" in response.content
