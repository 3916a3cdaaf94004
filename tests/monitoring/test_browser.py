"""The report page in a real headless browser (Debian's chromium through chromedriver):
signed in through the login form, charts drawn with real sizes, nothing fetched elsewhere."""

import datetime as dt
import os
import shutil

import pytest
from django.utils import timezone

from tests.monitoring.conftest import log

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
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,2000"):
        options.add_argument(flag)
    # The explicit driver path keeps Selenium Manager from trying to download anything.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def test_report_renders_with_charts_in_chromium(live_server, browser, books, manager):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    manager.set_password("correct-horse-battery")
    manager.save()
    now = timezone.now()
    log(books, 60, at=now - dt.timedelta(minutes=30), spread=dt.timedelta(days=6))
    log(books, 6, at=now - dt.timedelta(hours=5), outcome="temporary_error", message="Timed out")

    browser.get(f"{live_server.url}/monitoring/report/?period=7d")
    assert "/accounts/login/" in browser.current_url  # sign-in first
    browser.find_element(By.NAME, "login").send_keys(manager.username)
    browser.find_element(By.NAME, "password").send_keys("correct-horse-battery")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()

    # click() returns before the POST and its redirect finish: wait for the report to load.
    WebDriverWait(browser, 15).until(lambda b: b.current_url.endswith("/report/?period=7d"))
    assert browser.current_url.endswith("/monitoring/report/?period=7d")
    assert "Integration health report · 7d" in browser.find_element(By.TAG_NAME, "h1").text
    totals = browser.find_element(By.ID, "totals").text
    assert "66" in totals and "90.91 %" in totals

    sizes = browser.execute_script(
        "return [...document.querySelectorAll('svg.chart')].map(s => {"
        "  const r = s.getBoundingClientRect(); return [r.width, r.height]; })"
    )
    assert len(sizes) == 2  # overall and the one connection
    assert all(w > 300 and h > 80 for w, h in sizes)
    drawn = browser.execute_script(
        "return [...document.querySelectorAll('section.integration g.bar')]"
        ".map(g => [Number(g.dataset.operations), g.querySelector('rect.ok').getBBox().height])"
    )
    assert sum(ops for ops, _ in drawn) == 66
    assert any(height > 1 for ops, height in drawn if ops)
    hosts = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => new URL(e.name).host)"
    )
    assert set(hosts) <= {live_server.url.split("//")[1]}
    errors = browser.find_element(By.CSS_SELECTOR, "table.errors").text
    assert "Timed out" in errors

    if os.environ.get("MONITORING_SCREENSHOT_DIR"):
        browser.save_screenshot(os.path.join(os.environ["MONITORING_SCREENSHOT_DIR"], "report.png"))
