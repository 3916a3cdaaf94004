"""The dispatch board's JSON and its move endpoint: moves go through the core services (status
history, events), refusals answer 4xx with the service's reason and save nothing, and another
business's ids answer exactly like missing ones."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.backoffice.board.services import BOARD_NOTE
from apps.core import events
from apps.core.admin.permissions import grant_office_permissions
from apps.core.models import WorkOrderStatusChange
from apps.core.services.work_orders import work_order_transition
from apps.routing.models import RoutePlan, RouteStop, TechnicianLocation, TechnicianRoute
from tests import factories as f

from .conftest import DAY, at, job

BOARD = reverse("admin:dispatch_board")
DATA = reverse("admin:dispatch_board_data")
MOVE = reverse("admin:dispatch_move")


def post_move(client, **payload):
    return client.post(MOVE, data=json.dumps(payload), content_type="application/json")


@pytest.fixture
def published():
    seen = []
    kinds = [events.WorkOrderAssigned, events.WorkOrderWindowChanged, events.WorkOrderStatusChanged]
    for kind in kinds:
        events.subscribe(kind)(seen.append)
    yield seen
    for kind in kinds:
        events.unsubscribe(kind, seen.append)


def test_board_lists_the_day_in_local_time_scoped_to_the_business(client, office, day_world):
    client.force_login(office)
    response = client.get(DATA, {"date": DAY.isoformat()})
    assert response.status_code == 200
    data = response.json()
    assert data["timezone"] == "America/Denver"
    names = [t["name"] for t in data["technicians"]]
    assert names == ["Jenna Ko", "Marcus Rivera"]
    booked = next(j for j in data["jobs"] if j["id"] == day_world.booked.pk)
    # 8:00 in Denver is 15:00 UTC; the axis is local minutes from midnight.
    assert (booked["start"], booked["end"]) == (8 * 60, 10 * 60)
    assert booked["window"] == "8:00 AM \u2013 10:00 AM"
    assert booked["status_label"] == "Scheduled"
    queue = [j["id"] for j in data["queue"]]
    assert queue[0] == day_world.emergency.pk  # emergencies first
    assert day_world.waiting.pk in queue
    assert "RIVALMARK" not in response.content.decode()
    assert day_world.rival_job.pk not in [j["id"] for j in data["jobs"] + data["queue"]]


def test_move_assigns_sets_the_window_and_schedules_through_the_services(
    client, office, day_world, published, django_capture_on_commit_callbacks
):
    client.force_login(office)
    order, marcus = day_world.waiting, day_world.marcus
    with django_capture_on_commit_callbacks(execute=True):
        response = post_move(
            client, work_order=order.pk, technician=marcus.pk, date="2026-12-08", start="09:30"
        )
    assert response.status_code == 200, response.content
    assert response.json()["message"].startswith(f"{order.number} assigned to Marcus Rivera")
    order.refresh_from_db()
    assert order.assigned_technician == marcus
    assert order.arrival_window_start == at(DAY, 9, 30)
    assert order.arrival_window_end == at(DAY, 11, 30)  # a job without a window gets two hours
    assert order.status == "scheduled"
    change = WorkOrderStatusChange.objects.get(work_order=order)
    assert (change.from_status, change.to_status) == ("new", "scheduled")
    assert change.changed_by == office and change.note == BOARD_NOTE
    kinds = {type(e).__name__ for e in published if e.work_order_id == order.pk}
    assert kinds == {"WorkOrderAssigned", "WorkOrderWindowChanged", "WorkOrderStatusChanged"}


def test_reassign_and_reschedule_keep_the_window_length(client, office, day_world):
    client.force_login(office)
    order = day_world.booked  # Marcus, 8:00-10:00
    response = post_move(
        client, work_order=order.pk, technician=day_world.jenna.pk, date="2026-12-09", start="14:15"
    )
    assert response.status_code == 200
    order.refresh_from_db()
    assert order.assigned_technician == day_world.jenna
    assert order.arrival_window_start == at(dt.date(2026, 12, 9), 14, 15)
    assert order.arrival_window_end - order.arrival_window_start == dt.timedelta(hours=2)
    assert order.status == "scheduled"  # already scheduled: no new status history row
    assert not WorkOrderStatusChange.objects.filter(work_order=order, note=BOARD_NOTE).exists()


def test_a_refused_move_answers_409_with_the_reason_and_saves_nothing(
    client, office, day_world, published, django_capture_on_commit_callbacks
):
    client.force_login(office)
    order = day_world.dispatched  # Jenna, 10:00, dispatched
    with django_capture_on_commit_callbacks(execute=True):
        response = post_move(
            client, work_order=order.pk, technician=None, date="2026-12-08", start="15:00"
        )
    assert response.status_code == 409
    assert response.json()["error"] == (
        "A dispatched work order needs a technician; reschedule it first."
    )
    order.refresh_from_db()
    # The window step ran first; the refusal rolled it back with the rest.
    assert order.arrival_window_start == at(DAY, 10)
    assert order.assigned_technician == day_world.jenna
    assert [e for e in published if e.work_order_id == order.pk] == []


def test_a_closed_job_cannot_be_moved(client, office, day_world):
    client.force_login(office)
    order = day_world.dispatched
    for status in ("en_route", "on_site", "completed"):
        work_order_transition(work_order=order, to_status=status, by=None)
    response = post_move(
        client,
        work_order=order.pk,
        technician=day_world.marcus.pk,
        date="2026-12-08",
        start="16:00",
    )
    assert response.status_code == 409
    assert "completed cannot get a new window" in response.json()["error"]
    board = client.get(DATA, {"date": DAY.isoformat()}).json()
    assert next(j for j in board["jobs"] if j["id"] == order.pk)["movable"] is False


def test_inactive_technician_is_refused(client, office, day_world):
    client.force_login(office)
    day_world.marcus.active = False
    day_world.marcus.save(update_fields=["active"])
    response = post_move(client, work_order=day_world.waiting.pk, technician=day_world.marcus.pk)
    assert response.status_code == 409
    assert "is not an active technician" in response.json()["error"]


def test_another_business_ids_answer_like_missing_ones(client, office, day_world):
    client.force_login(office)
    theirs = post_move(client, work_order=day_world.rival_job.pk, technician=day_world.marcus.pk)
    missing = post_move(client, work_order=987654321, technician=day_world.marcus.pk)
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    their_tech = post_move(
        client, work_order=day_world.waiting.pk, technician=day_world.rival_tech.pk
    )
    missing_tech = post_move(client, work_order=day_world.waiting.pk, technician=987654321)
    assert their_tech.status_code == missing_tech.status_code == 404
    assert their_tech.json() == missing_tech.json()
    day_world.rival_job.refresh_from_db()
    assert day_world.rival_job.assigned_technician == day_world.rival_tech


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("not json", "Send the move as a JSON object."),
        ("[1, 2]", "Send the move as a JSON object."),
        ('{"work_order": "abc"}', "must be an id"),
        ('{"technician": 1}', "“work_order” is missing"),
        ('{"work_order": 1, "date": "2026-13-40", "start": "25:00"}', "YYYY-MM-DD"),
    ],
)
def test_bad_input_is_a_400_with_a_reason(client, office, day_world, body, message):
    client.force_login(office)
    if '"work_order": 1' in body:
        body = body.replace('"work_order": 1', f'"work_order": {day_world.waiting.pk}')
    response = client.post(MOVE, data=body, content_type="application/json")
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_bad_date_is_a_400(client, office, day_world):
    client.force_login(office)
    assert client.get(DATA, {"date": "tomorrow"}).status_code == 400
    assert client.get(BOARD, {"date": "2026-02-30"}).status_code == 400


def test_office_staff_only(client, business, day_world):
    technician_user = day_world.marcus.user
    client.force_login(technician_user)
    assert client.get(BOARD).status_code == 302  # the admin sends non-staff to sign in
    assert post_move(client, work_order=day_world.waiting.pk).status_code == 302
    # Staff without the work-order permissions (no office role granted) are refused.
    bare = f.UserFactory(business=business, role="dispatcher", is_staff=True)
    client.force_login(bare)
    assert client.get(DATA).status_code == 403
    response = post_move(client, work_order=day_world.waiting.pk, technician=None)
    assert response.status_code == 403
    day_world.waiting.refresh_from_db()
    assert day_world.waiting.assigned_technician is None


def test_moves_need_the_change_permission(client, business, day_world):
    viewer = f.UserFactory(business=business, role="dispatcher", is_staff=True)
    grant_office_permissions(viewer)
    viewer.groups.first().permissions.remove(
        *viewer.groups.first().permissions.filter(codename="change_workorder")
    )
    viewer = type(viewer).objects.get(pk=viewer.pk)
    client.force_login(viewer)
    assert client.get(DATA, {"date": DAY.isoformat()}).status_code == 200
    response = post_move(client, work_order=day_world.waiting.pk, technician=day_world.marcus.pk)
    assert response.status_code == 403


def test_positions_and_etas_come_from_routing(client, office, day_world):
    client.force_login(office)
    today = timezone.localdate(timezone=day_world.business.timezone)
    order = job(
        day_world.business, start=at(today, 14), technician=day_world.marcus, summary="Boiler"
    )
    now = timezone.now()
    TechnicianLocation.objects.create(
        business=day_world.business,
        technician=day_world.marcus,
        latitude=Decimal("39.750000"),
        longitude=Decimal("-104.990000"),
        recorded_at=now - dt.timedelta(minutes=3),
    )
    plan = RoutePlan.objects.create(
        business=day_world.business, date=today, status="applied", planned_at=now
    )
    route = TechnicianRoute.objects.create(
        business=day_world.business,
        plan=plan,
        technician=day_world.marcus,
        start_at=now,
        end_at=now + dt.timedelta(hours=8),
        start_latitude=Decimal("39.7"),
        start_longitude=Decimal("-105.0"),
    )
    eta = at(today, 14, 20)
    RouteStop.objects.create(
        business=day_world.business,
        plan=plan,
        route=route,
        technician=day_world.marcus,
        work_order=order,
        sequence=1,
        eta=eta,
        service_start=eta,
        departure=eta + dt.timedelta(hours=1),
    )
    data = client.get(DATA, {"date": today.isoformat()}).json()
    marcus = next(t for t in data["technicians"] if t["id"] == day_world.marcus.pk)
    assert marcus["position"]["lat"] == pytest.approx(39.75)
    assert marcus["position"]["minutes_ago"] == 3
    item = next(j for j in data["jobs"] if j["id"] == order.pk)
    assert item["eta"] == "2:20 PM"
    route_line = next(r for r in data["routes"] if r["technician"] == day_world.marcus.pk)
    assert route_line["points"][0] == [39.75, -104.99]  # starts where he is now
    assert data["now"] is not None
    # Another day shows no live position.
    other_day = client.get(DATA, {"date": (today + dt.timedelta(days=1)).isoformat()}).json()
    assert all(t["position"] is None for t in other_day["technicians"])


def test_a_dst_day_keeps_wall_clock_minutes(client, office, business):
    client.force_login(office)
    spring = dt.date(2026, 3, 8)  # clocks go forward at 2:00 in Denver
    tech = f.TechnicianFactory(business=business)
    order = job(business, start=at(spring, 8), technician=tech)
    data = client.get(DATA, {"date": spring.isoformat()}).json()
    item = next(j for j in data["jobs"] if j["id"] == order.pk)
    assert (item["start"], item["end"]) == (480, 600)
    assert item["window"] == "8:00 AM \u2013 10:00 AM"


def test_platform_superuser_picks_the_business(client, platform_admin, day_world):
    client.force_login(platform_admin)
    rival = day_world.other_business.pk
    data = client.get(DATA, {"date": DAY.isoformat(), "business": rival}).json()
    assert [j["id"] for j in data["jobs"]] == [day_world.rival_job.pk]
    response = post_move(
        client,
        business=day_world.business.pk,
        work_order=day_world.rival_job.pk,
        technician=day_world.marcus.pk,
    )
    assert response.status_code == 404  # the move is judged inside the business it names


def test_board_page_renders_without_inline_script(client, office, day_world):
    client.force_login(office)
    response = client.get(BOARD, {"date": DAY.isoformat()})
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="board-data"' in html and "WO-" in html
    # Content-Security-Policy friendly: data in json_script, code in static files only.
    scripts = re.findall(r"<script(?P<attrs>[^>]*)>", html)
    assert all("src=" in s or 'type="application/json"' in s for s in scripts), scripts
    assert not re.search(r"\son[a-z]+=", html)  # no inline event handlers
    assert "RIVALMARK" not in html
