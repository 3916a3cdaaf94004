"""The routing API end to end, with a cross-business test on every endpoint."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.routing.models import RoutePlan, TechnicianLocation
from apps.routing.services.plans import route_plan_apply, route_plan_create
from tests import factories as f
from tests.api.helpers import client_for

from .conftest import DENVER, PLACES, assert_feasible

ALL_DAY = (dt.time(0, 1), dt.time(23, 59))


@pytest.fixture
def today():
    return dt.datetime.now(DENVER).date()


@pytest.fixture
def ann_today(world, today):
    ann = world.technician("Ann", "downtown", shift=ALL_DAY)
    world.job("highlands", minutes=30, summary="No heat")
    world.job("arvada", minutes=30)
    plan = route_plan_create(business=world.business, date=today)
    route_plan_apply(plan=plan, by=None)
    return ann, plan


@pytest.fixture
def rival_today(rival_world, today):
    rex = rival_world.technician("Rex", "downtown", shift=ALL_DAY)
    rival_world.job("highlands", summary="RIVAL JOB")
    plan = route_plan_create(business=rival_world.business, date=today)
    route_plan_apply(plan=plan, by=None)
    return rex, plan


# --- GET /routes/today ------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/v1/routes/today", "/api/v1/routes/today/"])
def test_a_technician_gets_todays_stops_in_order(ann_today, rival_today, path):
    ann, plan = ann_today
    body = client_for(ann.user).get(path).json()
    assert body["plan_id"] == plan.pk and body["technician"]["id"] == ann.pk
    assert [s["sequence"] for s in body["stops"]] == [1, 2]
    stop = body["stops"][0]
    assert {"eta", "service_start", "departure", "drive_minutes", "fixed"} <= set(stop)
    job = stop["work_order"]
    assert {"number", "summary", "customer", "address", "latitude", "phone"} <= set(job)
    assert job["phone"].startswith("+1")
    assert "-0" in stop["eta"]  # the business's offset (Denver), not UTC
    assert "RIVAL JOB" not in str(body)


def test_office_staff_look_up_a_technician_of_their_business_only(
    ann_today, rival_today, dispatcher
):
    ann, _ = ann_today
    rex, _ = rival_today
    office = client_for(dispatcher)
    assert len(office.get(f"/api/v1/routes/today?technician={ann.pk}").json()["stops"]) == 2
    response = office.get(f"/api/v1/routes/today?technician={rex.pk}")
    assert response.status_code == 404
    assert office.get("/api/v1/routes/today").status_code == 404  # no technician profile


def test_technicians_cannot_read_someone_elses_route(ann_today, world):
    ann, _ = ann_today
    bob = world.technician("Bob")
    response = client_for(bob.user).get(f"/api/v1/routes/today?technician={ann.pk}")
    assert response.status_code == 403
    assert client_for(bob.user).get("/api/v1/routes/today").json()["stops"] == []


def test_no_plan_yet_is_an_empty_day(world):
    tech = world.technician("Ann")
    body = client_for(tech.user).get("/api/v1/routes/today").json()
    assert body["plan_id"] is None and body["stops"] == []


def test_the_routing_api_needs_a_signed_in_user(ann_today):
    client = APIClient()
    assert client.get("/api/v1/routes/today").status_code == 401
    assert client.post("/api/v1/routing/optimize", {}, format="json").status_code == 401
    assert client.post("/api/v1/technicians/me/location", {}, format="json").status_code == 401


# --- POST /routing/optimize -------------------------------------------------------------------
def test_dispatchers_optimize_a_day_of_their_own_business(
    world, rival_world, dispatcher, plan_date
):
    ann = world.technician("Ann", "downtown")
    world.job("highlands")
    world.job(None)  # no coordinates: unassigned with a reason
    rival_world.technician("Rex", "downtown")
    rival_job = rival_world.job("highlands", summary="RIVAL JOB")
    response = client_for(dispatcher).post(
        "/api/v1/routing/optimize", {"date": str(plan_date), "time_limit": 0.5}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "draft" and body["date"] == str(plan_date)
    assert body["kpis"]["planned"] == 1 and body["kpis"]["unassigned"] == 1
    (route,) = [r for r in body["routes"] if r["stops"]]
    assert route["technician"]["id"] == ann.pk
    assert body["unassigned"][0]["reason"] == "no_location"
    assert body["changes"][0]["added"] == [route["stops"][0]["work_order"]["number"]]
    assert "RIVAL" not in str(body) and rival_job.number not in str(body)
    plan = RoutePlan.objects.get(pk=body["id"])
    assert plan.business == world.business and plan.created_by == dispatcher
    assert_feasible(plan)


def test_technicians_may_not_optimize(world, plan_date):
    tech = world.technician("Ann")
    response = client_for(tech.user).post(
        "/api/v1/routing/optimize", {"date": str(plan_date)}, format="json"
    )
    assert response.status_code == 403
    assert not RoutePlan.objects.exists()


def test_a_posted_position_moves_the_eta_the_customer_is_told(
    ann_today, django_capture_on_commit_callbacks
):
    """End to end: the app posts a fix, the stops get new ETAs, the customer's ETA (what the
    "on my way" text quotes, comms.hooks.eta_minutes) follows, and comms hears about it."""
    from apps.comms.hooks import eta_minutes
    from apps.core import events
    from apps.routing.events import TechnicianEtasUpdated

    ann, plan = ann_today
    seen = []
    events.subscribe(TechnicianEtasUpdated)(seen.append)
    try:
        fixes = {}
        for place, (lat, lng) in (
            ("highlands", PLACES["highlands"]),
            ("boulder", PLACES["boulder"]),
        ):
            with django_capture_on_commit_callbacks(execute=True):
                response = client_for(ann.user).post(
                    "/api/v1/technicians/me/location",
                    {"latitude": f"{lat:.6f}", "longitude": f"{lng:.6f}"},
                    format="json",
                )
            assert response.status_code == 201, response.content
            first = plan.stops.order_by("sequence").select_related("work_order").first()
            fixes[place] = (first.eta, eta_minutes(first.work_order))
    finally:
        events.unsubscribe(TechnicianEtasUpdated, seen.append)
    (near_eta, near_minutes), (far_eta, far_minutes) = fixes["highlands"], fixes["boulder"]
    assert far_eta > near_eta + dt.timedelta(minutes=15)  # Boulder is a long drive away
    assert far_minutes >= near_minutes + 15  # and the customer is told so
    assert 0 <= far_minutes - (far_eta - timezone.now()).total_seconds() / 60 <= 5  # rounded up
    assert [e.plan_id for e in seen] == [plan.pk, plan.pk]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "date"),
        ({"date": "tomorrow"}, "date"),
        ({"date": "2030-01-01", "time_limit": 99}, "time_limit"),
    ],
)
def test_optimize_input_errors_name_the_field(dispatcher, world, payload, field):
    response = client_for(dispatcher).post("/api/v1/routing/optimize", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_a_past_day_is_refused(dispatcher, world):
    response = client_for(dispatcher).post(
        "/api/v1/routing/optimize", {"date": "2020-01-01"}, format="json"
    )
    assert response.status_code == 400 and "over" in response.json()["detail"]


@pytest.mark.parametrize("date", ["9999-12-31", "0001-01-01", "2999-06-01"])
def test_a_day_far_outside_the_horizon_is_a_clear_400(dispatcher, world, date):
    response = client_for(dispatcher).post(
        "/api/v1/routing/optimize", {"date": date}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and "date" in body["errors"]
    assert not RoutePlan.objects.exists()


def test_the_horizon_is_today_to_sixty_days_ahead_in_the_business_zone(dispatcher, world):
    office = client_for(dispatcher)
    today = dt.datetime.now(DENVER).date()
    last = today + dt.timedelta(days=60)
    beyond = office.post(
        "/api/v1/routing/optimize", {"date": str(last + dt.timedelta(days=1))}, format="json"
    )
    assert beyond.status_code == 400
    assert beyond.json()["errors"]["date"] == [
        f"{last + dt.timedelta(days=1)} is too far ahead: days up to {last} "
        "(60 days from today) can be planned."
    ]
    edge = office.post("/api/v1/routing/optimize", {"date": str(last)}, format="json")
    assert edge.status_code == 201, edge.json()


# --- plans: retrieve, apply, discard ----------------------------------------------------------
@pytest.fixture
def drafts(world, rival_world, plan_date):
    world.technician("Ann")
    world.job("highlands")
    rival_world.technician("Rex")
    rival_world.job("highlands")
    mine = route_plan_create(business=world.business, date=plan_date)
    theirs = route_plan_create(business=rival_world.business, date=plan_date)
    return mine, theirs


def test_plans_are_read_applied_and_discarded_within_the_business(drafts, dispatcher):
    mine, theirs = drafts
    office = client_for(dispatcher)
    assert office.get(f"/api/v1/routing/plans/{mine.pk}/").status_code == 200
    for verb in ("get", "post"):
        path = f"/api/v1/routing/plans/{theirs.pk}/" + ("apply/" if verb == "post" else "")
        assert getattr(office, verb)(path).status_code == 404
    assert office.post(f"/api/v1/routing/plans/{theirs.pk}/discard/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == RoutePlan.Status.DRAFT

    response = office.post(f"/api/v1/routing/plans/{mine.pk}/apply")
    assert response.status_code == 200 and response.json()["status"] == "applied"
    again = office.post(f"/api/v1/routing/plans/{mine.pk}/apply/")
    assert again.status_code == 400 and "applied" in again.json()["detail"]


def test_discarding_a_draft(drafts, dispatcher):
    mine, _ = drafts
    response = client_for(dispatcher).post(f"/api/v1/routing/plans/{mine.pk}/discard/")
    assert response.status_code == 200 and response.json()["status"] == "discarded"


def test_technicians_cannot_touch_plans(drafts, world):
    mine, _ = drafts
    tech = world.technician("Bob")
    assert client_for(tech.user).get(f"/api/v1/routing/plans/{mine.pk}/").status_code == 403
    assert client_for(tech.user).post(f"/api/v1/routing/plans/{mine.pk}/apply/").status_code == 403


# --- POST /technicians/me/location ------------------------------------------------------------
def test_a_technician_posts_a_position_and_gets_fresh_etas(ann_today, rival_today):
    ann, plan = ann_today
    _, rival_plan = rival_today
    response = client_for(ann.user).post(
        "/api/v1/technicians/me/location",
        {"latitude": "39.7626", "longitude": "-105.0114", "accuracy_m": 8},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["plan_id"] == plan.pk and len(body["stops"]) == 2
    assert all(s["eta_updated_at"] for s in body["stops"])
    fix = TechnicianLocation.objects.get()
    assert (fix.technician, fix.business, fix.accuracy_m) == (ann, ann.business, 8)
    assert not rival_plan.stops.exclude(eta_updated_at=None).exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"latitude": "91", "longitude": "0"}, "latitude"),
        ({"latitude": "39.7", "longitude": "-181"}, "longitude"),
        ({"latitude": "39.7"}, "longitude"),
        ({"latitude": "39.7", "longitude": "-105", "recorded_at": "yesterday"}, "recorded_at"),
    ],
)
def test_bad_positions_are_refused(ann_today, payload, field):
    ann, _ = ann_today
    response = client_for(ann.user).post("/api/v1/technicians/me/location", payload, format="json")
    assert response.status_code == 400 and field in response.json()["errors"]
    assert not TechnicianLocation.objects.exists()


def test_only_technicians_post_positions(dispatcher, world):
    response = client_for(dispatcher).post(
        "/api/v1/technicians/me/location", {"latitude": "39.7", "longitude": "-105"}, format="json"
    )
    assert response.status_code == 404
    assert not TechnicianLocation.objects.exists()


def test_a_user_of_no_business_is_refused(db):
    loner = f.UserFactory(business=None, is_superuser=True)
    response = client_for(loner).get("/api/v1/routes/today")
    assert response.status_code == 403
