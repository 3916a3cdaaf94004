import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.services.work_orders import work_order_transition
from tests import factories as f
from tests.api.helpers import client_for, dispatched_to, work_order_of

URL = "/api/v1/work-orders/"
UTC = dt.UTC


def ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def at(year, month, day, hour, minute=0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_a_technician_sees_only_orders_assigned_to_them(technician, dispatcher, business):
    mine = dispatched_to(technician, dispatcher)
    colleague = f.TechnicianFactory(business=business)
    theirs = dispatched_to(colleague, dispatcher)
    unassigned = work_order_of(business)

    seen = ids(client_for(technician.user).get(URL))

    assert seen == {mine.pk}
    assert not seen & {theirs.pk, unassigned.pk}


def test_office_staff_see_every_order_of_their_business(
    office_client, technician, dispatcher, business
):
    assigned = dispatched_to(technician, dispatcher)
    unassigned = work_order_of(business)

    assert ids(office_client.get(URL)) == {assigned.pk, unassigned.pk}


def test_the_list_never_includes_another_business(office_client, business, foreign_work_order):
    own = work_order_of(business)

    response = office_client.get(URL, {"status": ["new"]})

    assert ids(response) == {own.pk}
    assert response.json()["count"] == 1


def test_a_technician_filtering_by_another_business_technician_is_refused_like_unknown(
    office_client, foreign_work_order
):
    foreign = office_client.get(
        URL, {"assigned_technician": foreign_work_order.assigned_technician_id}
    )
    unknown = office_client.get(URL, {"assigned_technician": 987654})

    assert foreign.status_code == unknown.status_code == 400
    assert foreign.json() == unknown.json()
    assert foreign.json()["errors"]["assigned_technician"]


def test_list_rows_carry_what_the_day_view_needs(tech_client, technician, dispatcher):
    work_order = dispatched_to(technician, dispatcher, priority="emergency")

    row = tech_client.get(URL).json()["results"][0]

    assert row["number"] == work_order.number
    assert row["status"] == "dispatched"
    assert row["priority"] == "emergency"
    assert row["customer_name"] == work_order.customer.display_name
    assert row["address"] == "1200 Pearl St, Denver, CO 80203"
    assert row["assigned_technician"] == {"id": technician.pk, "name": str(technician)}


class TestDateFilter:
    """Business time zone is America/Denver (UTC-6 in June)."""

    def test_a_late_evening_order_belongs_to_its_local_day(self, office_client, business):
        # 23:30 on 5 June in Denver is 05:30 on 6 June in UTC.
        late = work_order_of(
            business,
            arrival_window_start=at(2025, 6, 6, 5, 30),
            arrival_window_end=at(2025, 6, 6, 7),
        )
        # 00:30 on 6 June in Denver.
        next_morning = work_order_of(
            business,
            arrival_window_start=at(2025, 6, 6, 6, 30),
            arrival_window_end=at(2025, 6, 6, 8),
        )
        # 00:30 on 5 June in Denver belongs to the 5th; 23:59 on 4 June does not.
        early = work_order_of(
            business,
            arrival_window_start=at(2025, 6, 5, 6, 30),
            arrival_window_end=at(2025, 6, 5, 8),
        )
        day_before = work_order_of(
            business,
            arrival_window_start=at(2025, 6, 5, 5, 59),
            arrival_window_end=at(2025, 6, 5, 8),
        )

        assert ids(office_client.get(URL, {"date": "2025-06-05"})) == {early.pk, late.pk}
        assert ids(office_client.get(URL, {"date": "2025-06-06"})) == {next_morning.pk}
        assert ids(office_client.get(URL, {"date": "2025-06-04"})) == {day_before.pk}

    def test_datetimes_are_rendered_with_the_business_offset(self, office_client, business):
        work_order_of(
            business,
            arrival_window_start=at(2025, 6, 6, 5, 30),
            arrival_window_end=at(2025, 6, 6, 7),
        )

        row = office_client.get(URL, {"date": "2025-06-05"}).json()["results"][0]

        assert row["arrival_window_start"] == "2025-06-05T23:30:00-06:00"
        assert row["arrival_window_end"] == "2025-06-06T01:00:00-06:00"

    def test_a_day_when_clocks_change_is_covered_whole(self, office_client, business):
        # 2 Nov 2025: Denver falls back, the local day lasts 25 hours (06:00Z to 07:00Z next day).
        last_hour = work_order_of(
            business,
            arrival_window_start=at(2025, 11, 3, 6, 30),
            arrival_window_end=at(2025, 11, 3, 8),
        )

        assert ids(office_client.get(URL, {"date": "2025-11-02"})) == {last_hour.pk}
        assert ids(office_client.get(URL, {"date": "2025-11-03"})) == set()

    def test_the_technician_day_combines_with_their_scope(self, technician, dispatcher, business):
        start = at(2025, 6, 5, 15)
        mine = dispatched_to(
            technician,
            dispatcher,
            arrival_window_start=start,
            arrival_window_end=start + dt.timedelta(hours=2),
        )
        work_order_of(
            business, arrival_window_start=start, arrival_window_end=start + dt.timedelta(hours=2)
        )

        assert ids(client_for(technician.user).get(URL, {"date": "2025-06-05"})) == {mine.pk}

    @pytest.mark.parametrize("bad", ["06/05/2025", "tomorrow", "2025-02-30"])
    def test_a_bad_date_is_a_400_with_a_message(self, office_client, bad):
        response = office_client.get(URL, {"date": bad})

        assert response.status_code == 400
        assert response.json()["errors"] == {"date": ["Enter a date as YYYY-MM-DD."]}
        assert response.json()["detail"] == "date: Enter a date as YYYY-MM-DD."


def test_status_filter_accepts_several_values(office_client, technician, dispatcher, business):
    new = work_order_of(business)
    dispatched = dispatched_to(technician, dispatcher)
    cancelled = work_order_of(business)
    work_order_transition(work_order=cancelled, to_status="cancelled", by=dispatcher)

    assert ids(office_client.get(URL, {"status": ["new", "dispatched"]})) == {new.pk, dispatched.pk}
    assert ids(office_client.get(URL, {"status": "cancelled"})) == {cancelled.pk}


def test_a_bad_status_is_a_400_with_a_message(office_client):
    response = office_client.get(URL, {"status": "flying"})

    assert response.status_code == 400
    assert "flying is not one of the available choices" in response.json()["detail"]


def test_priority_and_technician_filters(office_client, technician, dispatcher, business):
    emergency = dispatched_to(technician, dispatcher, priority="emergency")
    work_order_of(business, priority="emergency")
    work_order_of(business, priority="normal")

    response = office_client.get(
        URL, {"priority": "emergency", "assigned_technician": technician.pk}
    )

    assert ids(response) == {emergency.pk}


def test_ordering_by_priority_puts_emergencies_first(office_client, business):
    normal = work_order_of(business, priority="normal")
    emergency = work_order_of(business, priority="emergency")
    high = work_order_of(business, priority="high")

    rows = office_client.get(URL, {"ordering": "-priority"}).json()["results"]

    assert [r["id"] for r in rows] == [emergency.pk, high.pk, normal.pk]


def test_default_order_is_by_arrival_window(office_client, business):
    later = work_order_of(
        business, arrival_window_start=at(2025, 6, 5, 20), arrival_window_end=at(2025, 6, 5, 21)
    )
    earlier = work_order_of(
        business, arrival_window_start=at(2025, 6, 5, 15), arrival_window_end=at(2025, 6, 5, 16)
    )
    unscheduled = work_order_of(business, arrival_window_start=None, arrival_window_end=None)

    rows = office_client.get(URL).json()["results"]

    assert [r["id"] for r in rows] == [earlier.pk, later.pk, unscheduled.pk]


def test_ordering_by_number_descending(office_client, business):
    first = work_order_of(business, number="WO-000001")
    second = work_order_of(business, number="WO-000002")

    rows = office_client.get(URL, {"ordering": "-number"}).json()["results"]

    assert [r["id"] for r in rows] == [second.pk, first.pk]


def test_an_unknown_ordering_is_a_400(office_client):
    response = office_client.get(URL, {"ordering": "customer__email"})

    assert response.status_code == 400
    assert "ordering" in response.json()["errors"]


def test_the_list_is_paginated(office_client, business):
    for _ in range(3):
        work_order_of(business)

    first = office_client.get(URL, {"page_size": 2}).json()
    second = office_client.get(URL, {"page_size": 2, "page": 2}).json()

    assert first["count"] == 3
    assert len(first["results"]) == 2 and first["next"]
    assert len(second["results"]) == 1
    assert {r["id"] for r in first["results"]}.isdisjoint(r["id"] for r in second["results"])


def test_a_page_past_the_end_is_a_404_with_a_message(office_client, business):
    work_order_of(business)

    response = office_client.get(URL, {"page": 9})

    assert response.status_code == 404
    assert response.json()["detail"] == "Invalid page."


def _list_queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(URL, params).status_code == 200
    return len(ctx.captured_queries)


def test_the_list_does_not_query_per_row(
    office_client, technician, dispatcher, business, django_assert_max_num_queries
):
    for _ in range(2):
        dispatched_to(technician, dispatcher)
    few = _list_queries(office_client)
    for _ in range(6):
        dispatched_to(f.TechnicianFactory(business=business), dispatcher)

    # token, business, count, rows: nothing per work order, customer, location or technician.
    with django_assert_max_num_queries(4):
        response = office_client.get(URL)
    assert response.json()["count"] == 8
    assert _list_queries(office_client) == few
    # The filtered technician view costs the same.
    assert _list_queries(client_for(technician.user), date="2025-06-05") <= 4
