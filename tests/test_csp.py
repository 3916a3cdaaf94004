"""The Content-Security-Policy (django-csp, thorbis/settings.py) on every kind of page, and the
pages still working under it in a real headless Chromium (no violation reported)."""

from __future__ import annotations

import os
import shutil

import pytest
from django.test import Client

from apps.routing.tracking.tokens import token_for
from tests import factories as f

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.fixture
def pages(db):
    business = f.BusinessFactory(slug="acme-hvac", name="Acme HVAC")
    manager = f.UserFactory(business=business, role="manager", is_staff=True)
    f.IntegrationConnectionFactory(business=business, name="Books")
    work_order = f.WorkOrderFactory(
        location=f.ServiceLocationFactory(customer=f.CustomerFactory(business=business))
    )
    superuser = f.UserFactory(business=None, is_superuser=True, is_staff=True)
    return {
        "manager": manager,
        "superuser": superuser,
        "urls": {
            "admin": ("/admin/", superuser),
            "api docs": ("/api/docs/", None),
            "swagger start-up script": ("/api/docs/?script=", None),
            "report": ("/monitoring/report/?period=7d", manager),
            "dashboard": ("/monitoring/", manager),
            "tracking": (f"/track/{token_for(work_order)}/", None),
            "login": ("/accounts/login/", None),
            "redoc": ("/api/redoc/", None),
            "user change form": (f"/admin/core/user/{manager.pk}/change/", superuser),
            "work order change form": (f"/admin/core/workorder/{work_order.pk}/change/", superuser),
            "work order list": ("/admin/core/workorder/", superuser),
        },
    }


@pytest.mark.parametrize(
    "page",
    ["admin", "api docs", "swagger start-up script", "report", "dashboard", "tracking", "login"],
)
def test_every_page_carries_the_policy(pages, page):
    url, user = pages["urls"][page]
    client = Client()
    if user is not None:
        client.force_login(user)

    response = client.get(url)

    assert response.status_code == 200, (page, response.status_code)
    policy = _policy(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    # Scripts: our own files only; never inline code or eval.
    assert "'self'" in policy["script-src"]
    assert not {"'unsafe-inline'", "'unsafe-eval'", "*"} & set(policy["script-src"])


def test_our_templates_hold_no_inline_script():
    from django.conf import settings

    roots = [settings.BASE_DIR / "templates", *(settings.BASE_DIR / "apps").glob("*/templates")]
    offenders = []
    for root in roots:
        for path in root.rglob("*.html"):
            text = path.read_text()
            for marker in (
                "<script>",
                "onclick=",
                "onchange=",
                "onload=",
                "onsubmit=",
                "javascript:",
            ):
                if marker in text:
                    offenders.append(f"{path.relative_to(settings.BASE_DIR)}: {marker}")
    assert offenders == []


# --- In a browser ------------------------------------------------------------------------------

RECORD_VIOLATIONS = (
    "window.__csp = [];"
    "document.addEventListener('securitypolicyviolation', e =>"
    "  window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));"
)


@pytest.fixture
def browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1280,1600"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    # Installed before any page script runs, so every violation of every page is recorded.
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_VIOLATIONS})
    yield driver
    driver.quit()


def _sign_in(browser, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    browser.get(f"{live_server.url}/healthz")  # a page of the site, to set its cookie
    browser.add_cookie({"name": "sessionid", "value": client.cookies["sessionid"].value})


def _screenshot(browser, name: str) -> None:
    folder = os.environ.get("CSP_SCREENSHOT_DIR")
    if folder:
        browser.save_screenshot(os.path.join(folder, f"{name}.png"))


needs_chromium = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="Debian chromium and chromedriver are not installed "
    "(apt-get install -y chromium chromium-driver)",
)


@needs_chromium
@pytest.mark.django_db(transaction=True)
def test_swagger_renders_under_the_policy(live_server, browser, pages):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{live_server.url}/api/docs/")
    WebDriverWait(browser, 20).until(
        lambda b: b.find_elements(By.CSS_SELECTOR, ".swagger-ui .opblock-summary-path")
    )

    title = browser.find_element(By.CSS_SELECTOR, ".swagger-ui .info .title").text
    assert "Thorbis Integrations Hub API" in title
    paths = [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")]
    assert any("/api/v1/auth/token/" in p for p in paths)
    _screenshot(browser, "swagger")
    assert browser.execute_script("return window.__csp") == []


@needs_chromium
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "page",
    [
        "admin",
        "user change form",
        "work order change form",
        "work order list",
        "report",
        "dashboard",
        "tracking",
        "login",
    ],
)
def test_pages_work_under_the_policy_without_violations(live_server, browser, pages, page):
    from selenium.webdriver.common.by import By

    url, user = pages["urls"][page]
    if user is not None:
        _sign_in(browser, live_server, user)
    browser.get(live_server.url + url)

    assert browser.find_element(By.TAG_NAME, "body").text.strip()
    assert "/accounts/login/" not in browser.current_url or page == "login"
    _screenshot(browser, page.replace(" ", "_"))
    assert browser.execute_script("return window.__csp") == []


@needs_chromium
@pytest.mark.django_db(transaction=True)
def test_redoc_renders_under_the_policy(live_server, browser, pages):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{live_server.url}/api/redoc/")
    WebDriverWait(browser, 30).until(
        lambda b: "Thorbis Integrations Hub API" in b.find_element(By.TAG_NAME, "body").text
    )
    WebDriverWait(browser, 10).until(
        lambda b: "/api/v1/auth/token/" in b.find_element(By.TAG_NAME, "body").text
    )
    _screenshot(browser, "redoc")
    # The one refusal: Redoc's "powered by" logo, fetched from Redoc's CDN (no other origin).
    assert browser.execute_script("return window.__csp") in (
        [],
        ["img-src https://cdn.redoc.ly/redoc/logo-mini.svg"],
    )
