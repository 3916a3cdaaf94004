"""The template preview in headless Chromium under the Content-Security-Policy: choosing another
work order re-renders the preview (the handler is a static file now, not an onchange=)."""

import pytest
from django.test import Client
from django.urls import reverse

from apps.comms.models import MessageTemplate
from apps.core.admin.permissions import grant_office_permissions
from tests import factories as f
from tests.test_csp import browser, needs_chromium  # noqa: F401  (the fixture)

pytestmark = [needs_chromium, pytest.mark.django_db(transaction=True)]


def test_choosing_a_work_order_shows_its_preview(live_server, browser, business, customer):  # noqa: F811
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    manager = f.UserFactory(business=business, role="manager", is_staff=True)
    grant_office_permissions(manager)
    location = f.ServiceLocationFactory(customer=customer)
    first = f.WorkOrderFactory(location=location, business=business, customer=customer)
    second = f.WorkOrderFactory(location=location, business=business, customer=customer)
    template = MessageTemplate.objects.create(
        business=business, kind="en_route", variables="customer_name", sms_body="Hi {customer_name}"
    )
    client = Client()
    client.force_login(manager)
    browser.get(f"{live_server.url}/healthz")
    browser.add_cookie({"name": "sessionid", "value": client.cookies["sessionid"].value})

    url = reverse("admin:comms_messagetemplate_preview", args=[template.pk])
    browser.get(f"{live_server.url}{url}?work_order={first.pk}")
    Select(browser.find_element(By.ID, "id_work_order")).select_by_value(str(second.pk))

    WebDriverWait(browser, 15).until(lambda b: b.current_url.endswith(f"work_order={second.pk}"))
    assert "Hi " in browser.find_element(By.CSS_SELECTOR, "pre.sms-body").text
    assert browser.execute_script("return window.__csp") == []
