"""The admin's navigation by task and the dashboard at /admin/."""

import datetime as dt
import re

import pytest
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone

from apps.backoffice.navigation import INTERNAL_MODELS, SECTIONS, named_models
from apps.comms.models import Channel, CommunicationLog, Direction
from apps.core.services.work_orders import work_order_transition
from apps.integrations.models import ConnectionStatus
from tests import factories as f

from .conftest import at, job

TASKS = [
    "Dispatch",
    "Jobs and customers",
    "Billing",
    "Messages",
    "Integrations",
    "Reports",
    "Settings",
]
INTERNAL_LINKS = [
    "Solar schedules",
    "Clocked schedules",
    "API tokens",
    "Authenticators (MFA)",
    "Integration activity (raw)",
    "/admin/django_celery_beat/solarschedule/",
    "/admin/django_celery_beat/clockedschedule/",
    "/admin/authtoken/tokenproxy/",
    "/admin/mfa/authenticator/",
    "/admin/integrations/integrationactivity/",
]


def sidebar(html: str) -> str:
    return re.search(r'<nav class="sticky task-nav".*?</nav>', html, re.S).group(0)


def captions(nav: str) -> list[str]:
    return re.findall(r'<caption><span class="section">([^<]+)</span></caption>', nav)


def test_every_registered_admin_has_a_place_in_the_navigation():
    registered = {model._meta.label_lower for model in admin.site._registry}
    assert registered - named_models() == set(), "add these models to a section"
    assert named_models() - registered == set(), "sections name models that are not registered"


def test_dispatcher_sees_the_task_sections_and_no_framework_internals(client, office):
    client.force_login(office)
    nav = sidebar(client.get("/admin/").content.decode())
    assert captions(nav) == TASKS
    for hidden in INTERNAL_LINKS:
        assert hidden not in nav
    assert "Dispatch board" in nav and reverse("admin:dispatch_board") in nav
    assert "Work orders" in nav and "Conversations" in nav and "Integration health" in nav
    # The same sidebar on every admin page.
    list_nav = sidebar(client.get(reverse("admin:core_workorder_changelist")).content.decode())
    assert captions(list_nav) == TASKS
    assert 'class="model-workorder current-model"' in list_nav


def test_internals_are_hidden_even_from_a_manager_with_permission_to_read_them(client, manager):
    client.force_login(manager)
    assert manager.has_perm("integrations.view_integrationactivity")
    nav = sidebar(client.get("/admin/").content.decode())
    assert "Integration activity (raw)" not in nav


def test_platform_superuser_also_sees_the_system_section(client, platform_admin):
    client.force_login(platform_admin)
    nav = sidebar(client.get("/admin/").content.decode())
    assert captions(nav) == [*TASKS, "System"]
    for link in INTERNAL_LINKS:
        assert link in nav
    assert "Other" not in captions(nav)
    # Pages that need a business (monitoring's) are not offered to a user without one.
    assert "Integration health" not in nav


def test_internal_models_are_all_superuser_only():
    assert {
        "django_celery_beat.solarschedule",
        "django_celery_beat.clockedschedule",
        "authtoken.tokenproxy",
        "mfa.authenticator",
        "integrations.integrationactivity",
    } <= INTERNAL_MODELS
    assert [s.title for s in SECTIONS][:7] == TASKS


def test_an_app_index_keeps_djangos_grouping(client, platform_admin):
    client.force_login(platform_admin)
    response = client.get("/admin/core/")
    assert response.status_code == 200
    assert "Work orders" in response.content.decode()


@pytest.fixture
def busy_today(business, other_business, day_world):
    """Jobs today in Denver, one of them late, an unread text and a broken connection."""
    today = timezone.localdate(timezone=business.timezone)
    now = timezone.now()
    late = job(
        business,
        start=now - dt.timedelta(hours=4),
        hours=2,
        technician=day_world.marcus,
        summary="Late furnace job",
    )
    work_order_transition(work_order=late, to_status="scheduled", by=None)
    work_order_transition(work_order=late, to_status="dispatched", by=None)
    emergency = job(business, start=at(today, 12), priority="emergency", summary="Gas smell now")
    customer = f.CustomerFactory(business=business, display_name="Gloria Ortiz")
    CommunicationLog.objects.create(
        business=business,
        channel=Channel.SMS,
        direction=Direction.INBOUND,
        recipient="+13035550100",
        sender="+13035550199",
        body="Is the tech still coming today?",
        customer=customer,
    )
    rival_customer = f.CustomerFactory(business=other_business, display_name="RIVALMARK person")
    CommunicationLog.objects.create(
        business=other_business,
        channel=Channel.SMS,
        direction=Direction.INBOUND,
        recipient="+17205550150",
        sender="+17205550199",
        body="RIVALMARK text",
        customer=rival_customer,
    )
    broken = f.IntegrationConnectionFactory(
        business=business, name="Books online", status=ConnectionStatus.NEEDS_RECONNECT
    )
    return locals()


def test_dashboard_shows_the_day_and_links_each_figure(client, office, busy_today):
    client.force_login(office)
    response = client.get("/admin/")
    assert response.status_code == 200
    html = response.content.decode()
    dashboard = response.context["dashboard"]
    labels = {s.label: s.count for s in dashboard.by_status}
    assert labels.get("Dispatched", 0) >= 1
    for item in dashboard.by_status:
        assert item.url.startswith(reverse("admin:core_workorder_changelist"))
        assert f"status__exact={item.status}" in item.url
    assert busy_today["emergency"] in dashboard.emergencies
    assert [late.work_order for late in dashboard.late] == [busy_today["late"]]
    assert "Marcus Rivera" in html and " late" in html
    assert [h.name for h in dashboard.attention] == ["Books online"]
    assert [w.customer_name for w in dashboard.waiting] == ["Gloria Ortiz"]
    assert "Is the tech still coming today?" in html
    assert reverse("admin:comms_conversation", args=[busy_today["customer"].pk]) in html
    assert "RIVALMARK" not in html
    # Each status link really filters the list to today's jobs in that status.
    dispatched = next(s for s in dashboard.by_status if s.status == "dispatched")
    listed = client.get(dispatched.url)
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == dispatched.count
    # The admin answers a filter it does not accept with a redirect to ?e=1; these are accepted.
    for url in (dashboard.unassigned_url, dashboard.emergencies_url, dashboard.waiting_url):
        assert client.get(url).status_code == 200, url


def test_platform_superuser_picks_the_business_on_the_dashboard(
    client, platform_admin, busy_today, other_business
):
    client.force_login(platform_admin)
    html = client.get("/admin/", {"business": other_business.pk}).content.decode()
    assert 'name="business"' in html
    assert "RIVALMARK text" in html and "Is the tech still coming today?" not in html


def test_work_order_list_shows_window_address_and_priority(client, office, day_world):
    client.force_login(office)
    html = client.get(reverse("admin:core_workorder_changelist")).content.decode()
    assert "<h1>Work orders</h1>" in html
    # 15:00 UTC shown in Denver time.
    assert '<span class="wo-day">Tue Dec 8</span> 8:00 AM \u2013 10:00 AM' in html
    assert "Not booked yet" in html
    assert "Emergency</span>" in html  # priority as a badge
    assert day_world.emergency.location.address_line1 in html
