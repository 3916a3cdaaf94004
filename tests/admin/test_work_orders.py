"""Work orders in the admin: numbers, status moves and lines all go through the services."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from apps.core.models import Invoice, LineItem, WorkOrder, WorkOrderStatus, WorkOrderStatusChange
from apps.core.services.work_orders import work_order_transition
from tests import factories as f

CHANGELIST = reverse("admin:core_workorder_changelist")
ADD = reverse("admin:core_workorder_add")
INLINES = ("lines", "part_requirements", "status_changes")


def change_url(work_order):
    return reverse("admin:core_workorder_change", args=[work_order.pk])


def inline_management(**initial):
    data = {}
    for prefix in INLINES:
        data[f"{prefix}-TOTAL_FORMS"] = initial.get(prefix, 0)
        data[f"{prefix}-INITIAL_FORMS"] = initial.get(prefix, 0)
    return data


def change_data(work_order, **overrides):
    """The change form as the browser would post it, untouched unless overridden."""
    data = {
        "customer": work_order.customer_id,
        "location": work_order.location_id,
        "category": work_order.category_id,
        "summary": work_order.summary,
        "description": work_order.description,
        "priority": work_order.priority,
        "estimated_duration_minutes": work_order.estimated_duration_minutes,
        "assigned_technician": work_order.assigned_technician_id or "",
        "move_to": "",
        "transition_note": "",
        **inline_management(),
    }
    for name in ("arrival_window_start", "arrival_window_end"):
        value = getattr(work_order, name)
        if value is not None:
            local = timezone.localtime(value, work_order.business.timezone)  # typed as local
            data[f"{name}_0"] = local.strftime("%Y-%m-%d")
            data[f"{name}_1"] = local.strftime("%H:%M:%S")
    data.update(overrides)
    return data


def run_action(client, action, *work_orders):
    return client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [wo.pk for wo in work_orders]},
        follow=True,
    )


def messages_of(response):
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def signed_in(client, office_dispatcher):
    client.force_login(office_dispatcher)
    return client


@pytest.fixture
def job(business, technician):
    return f.WorkOrderFactory(
        location=f.ServiceLocationFactory(customer=f.CustomerFactory(business=business)),
        assigned_technician=technician,
    )


def test_status_is_a_badge_in_the_list_and_not_a_form_field(signed_in, job):
    body = signed_in.get(CHANGELIST).content.decode()
    assert re.search(r"<span style=\"[^\"]*background:#6b7280[^\"]*\">New</span>", body)
    change = signed_in.get(change_url(job)).content.decode()
    assert 'name="status"' not in change


def test_schedule_action_moves_and_counts(signed_in, job, office_dispatcher):
    response = run_action(signed_in, "move_to_scheduled", job)
    job.refresh_from_db()
    assert job.status == WorkOrderStatus.SCHEDULED
    assert messages_of(response) == [("success", "1 work order moved to scheduled.")]
    change = WorkOrderStatusChange.objects.get(work_order=job)
    assert change.changed_by == office_dispatcher


def test_transition_action_reports_each_refusal_with_the_service_message(signed_in, job, business):
    unwindowed = f.WorkOrderFactory(
        location=job.location, arrival_window_start=None, arrival_window_end=None
    )
    response = run_action(signed_in, "move_to_scheduled", job, unwindowed)
    assert messages_of(response) == [
        ("error", f"{unwindowed.number}: Set an arrival window before scheduling."),
        ("success", "1 work order moved to scheduled."),
    ]
    unwindowed.refresh_from_db()
    assert unwindowed.status == WorkOrderStatus.NEW


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("move_to_dispatched", WorkOrderStatus.DISPATCHED),
        ("move_to_on_hold", WorkOrderStatus.ON_HOLD),
        ("move_to_cancelled", WorkOrderStatus.CANCELLED),
    ],
)
def test_dispatch_hold_and_cancel_actions(signed_in, job, action, expected):
    run_action(signed_in, action, job)
    job.refresh_from_db()
    assert job.status == expected


def test_refused_action_on_a_final_status_names_the_allowed_moves(signed_in, job):
    work_order_transition(work_order=job, to_status="cancelled", by=None)
    response = run_action(signed_in, "move_to_dispatched", job)
    [(level, text)] = messages_of(response)
    assert level == "error"
    assert text.startswith(f"{job.number}: A work order that is cancelled cannot become dispatched")


def test_move_to_lists_only_allowed_next_statuses(signed_in, job):
    body = signed_in.get(change_url(job)).content.decode()
    select = re.search(r'<select name="move_to".*?</select>', body, re.S).group(0)
    offered = set(re.findall(r'<option value="([a-z_]+)"', select))
    assert offered == set(job.allowed_next_statuses)
    assert "completed" not in offered


def test_move_to_calls_the_service_on_save(signed_in, job, office_dispatcher):
    response = signed_in.post(
        change_url(job), change_data(job, move_to="dispatched", transition_note="Called ahead")
    )
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == WorkOrderStatus.DISPATCHED
    change = WorkOrderStatusChange.objects.get(work_order=job)
    assert (change.from_status, change.to_status, change.changed_by, change.note) == (
        "new",
        "dispatched",
        office_dispatcher,
        "Called ahead",
    )


def test_refused_move_is_a_form_error_and_nothing_is_saved(signed_in, job):
    job.assigned_technician = None
    job.save()
    response = signed_in.post(
        change_url(job), change_data(job, move_to="dispatched", summary="Edited summary")
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Assign a technician before dispatching." in body
    job.refresh_from_db()
    assert job.status == WorkOrderStatus.NEW
    assert job.summary != "Edited summary"
    assert not WorkOrderStatusChange.objects.filter(work_order=job).exists()


def test_move_to_a_status_not_allowed_is_rejected_by_the_field(signed_in, job):
    response = signed_in.post(change_url(job), change_data(job, move_to="paid"))
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    job.refresh_from_db()
    assert job.status == WorkOrderStatus.NEW


def test_editing_fields_leaves_status_alone(signed_in, job):
    stale = change_data(job, summary="Upstairs too warm")
    # A technician moves the job while the dispatcher has the form open.
    work_order_transition(work_order=job, to_status="dispatched", by=None)
    assert signed_in.post(change_url(job), stale).status_code == 302
    job.refresh_from_db()
    assert (job.summary, job.status) == ("Upstairs too warm", WorkOrderStatus.DISPATCHED)


def test_reassigning_goes_through_the_assign_service(signed_in, job, business):
    inactive = f.TechnicianFactory(business=business, active=False)
    response = signed_in.post(change_url(job), change_data(job, assigned_technician=inactive.pk))
    assert response.status_code == 200
    assert "is not an active technician" in response.content.decode()
    replacement = f.TechnicianFactory(business=business)
    response = signed_in.post(change_url(job), change_data(job, assigned_technician=replacement.pk))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.assigned_technician == replacement


def test_adding_a_work_order_assigns_the_next_number(signed_in, own, office_dispatcher):
    start = timezone.now().replace(microsecond=0) + dt.timedelta(days=1)
    data = {
        "customer": own.customer.pk,
        "location": own.location.pk,
        "category": own.category.pk,
        "summary": "Water heater leaking",
        "priority": "high",
        "estimated_duration_minutes": 120,
        "arrival_window_start_0": start.strftime("%Y-%m-%d"),
        "arrival_window_start_1": "09:00:00",
        "arrival_window_end_0": start.strftime("%Y-%m-%d"),
        "arrival_window_end_1": "11:00:00",
        "required_skills": [own.skill.pk],
        **inline_management(),
        "lines-TOTAL_FORMS": 1,
        "lines-0-kind": "service",
        "lines-0-description": "Trip charge",
        "lines-0-quantity": "1",
        "lines-0-unit_price": "79.00",
        "lines-0-taxable": "on",
    }
    response = signed_in.post(ADD, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    created = WorkOrder.objects.get(summary="Water heater leaking")
    own.business.refresh_from_db()
    assert created.number == f"WO-{own.business.work_order_sequence:06d}"
    assert created.business == own.business
    assert created.status == WorkOrderStatus.NEW
    assert list(created.required_skills.all()) == [own.skill]
    line = LineItem.objects.get(work_order=created)
    assert (line.description, line.unit_price, line.created_by) == (
        "Trip charge",
        Decimal("79.00"),
        office_dispatcher,
    )


def test_service_refusal_on_add_is_a_form_error(signed_in, own, business):
    elsewhere = f.ServiceLocationFactory(customer=f.CustomerFactory(business=business))
    data = {
        "customer": own.customer.pk,
        "location": elsewhere.pk,
        "category": own.category.pk,
        "summary": "Wrong address",
        "priority": "normal",
        "estimated_duration_minutes": 60,
        **inline_management(),
    }
    response = signed_in.post(ADD, data)
    assert response.status_code == 200
    assert "The service location belongs to a different customer." in response.content.decode()
    assert not WorkOrder.objects.filter(summary="Wrong address").exists()


def test_line_items_are_editable_while_open_and_read_only_once_completed(signed_in, job):
    f.LineItemFactory(work_order=job, description="Capacitor swap")
    assert 'name="lines-0-description"' in signed_in.get(change_url(job)).content.decode()
    for status in ("dispatched", "en_route", "on_site", "completed"):
        work_order_transition(work_order=job, to_status=status, by=None)
    body = signed_in.get(change_url(job)).content.decode()
    assert "Capacitor swap" in body
    assert 'name="lines-0-description"' not in body


def test_status_history_inline_is_read_only(signed_in, job):
    work_order_transition(work_order=job, to_status="scheduled", by=None, note="Booked by phone")
    body = signed_in.get(change_url(job)).content.decode()
    assert "Booked by phone" in body
    assert 'name="status_changes-0-note"' not in body


def test_invoice_action_invoices_completed_orders_and_refuses_others(signed_in, job, own):
    for status in ("dispatched", "en_route", "on_site", "completed"):
        work_order_transition(work_order=job, to_status=status, by=None)
    f.LineItemFactory(work_order=job)
    open_job = own.work_order
    response = run_action(signed_in, "create_invoices", job, open_job)
    invoice = Invoice.objects.get(work_order=job)
    # Refusals are reported as they happen; the summary of what was created comes last.
    assert messages_of(response) == [
        ("error", f"{open_job.number}: Only a completed work order can be invoiced."),
        ("success", f"Created invoice(s) {invoice.number}."),
    ]
