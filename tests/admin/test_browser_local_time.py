"""The work-order page in a real headless browser (Debian's chromium through chromedriver):
signed in through the sign-in page, the arrival window shows in the business's local time and
says which zone it is in."""

import datetime as dt
import os
import shutil

import pytest

from apps.core.admin.permissions import grant_office_permissions
from apps.core.models import WorkOrderStatusChange
from tests import factories as f

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = [
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER),
        reason="Debian chromium and chromedriver are not installed "
        "(apt-get install -y chromium chromium-driver)",
    ),
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1800"):
        options.add_argument(flag)
    # The explicit driver path keeps Selenium Manager from trying to download anything.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def test_work_order_form_shows_the_local_window_and_its_zone(live_server, browser, business):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    dispatcher = f.UserFactory(business=business, role="dispatcher", is_staff=True)
    grant_office_permissions(dispatcher)
    start = dt.datetime.fromisoformat("2026-12-08T08:00-07:00")  # the 8-10 AM job
    job = f.WorkOrderFactory(
        location__customer__business=business,
        arrival_window_start=start,
        arrival_window_end=start + dt.timedelta(hours=2),
    )
    change = WorkOrderStatusChange.objects.create(
        business=business, work_order=job, from_status="new", to_status="scheduled"
    )
    WorkOrderStatusChange.objects.filter(pk=change.pk).update(
        changed_at=dt.datetime(2026, 12, 7, 19, 20, tzinfo=dt.UTC)
    )

    browser.get(f"{live_server.url}/admin/core/workorder/{job.pk}/change/")
    WebDriverWait(browser, 15).until(lambda b: "/accounts/login/" in b.current_url)
    assert "Sign Up" not in browser.page_source
    browser.find_element(By.NAME, "login").send_keys(dispatcher.username)
    browser.find_element(By.NAME, "password").send_keys("correct-horse-battery")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    WebDriverWait(browser, 15).until(lambda b: f"/workorder/{job.pk}/change/" in b.current_url)

    start_time = browser.find_element(By.NAME, "arrival_window_start_1")
    end_time = browser.find_element(By.NAME, "arrival_window_end_1")
    assert (start_time.get_attribute("value"), end_time.get_attribute("value")) == (
        "08:00:00",
        "10:00:00",
    )
    zones = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".local-zone")]
    assert zones == ["MST (America/Denver)", "MST (America/Denver)"]
    assert all(e.is_displayed() for e in browser.find_elements(By.CSS_SELECTOR, ".local-zone"))
    history = browser.find_element(By.ID, "status_changes-group").text
    assert "Dec. 7, 2026, 12:20 PM MST" in history

    if os.environ.get("LOCAL_TIME_SCREENSHOT_DIR"):
        browser.save_screenshot(
            os.path.join(os.environ["LOCAL_TIME_SCREENSHOT_DIR"], "work-order-local-time.png")
        )
