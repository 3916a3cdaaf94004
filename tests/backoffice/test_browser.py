"""The dispatch board and the navigation in a real headless browser (Debian's chromium through
chromedriver): a dispatcher signs in, drags a job onto a technician, moves one by keyboard, sees a
refused move put back, and finds the task sections without the framework's internals."""

import shutil

import pytest

from apps.backoffice.board.services import BOARD_NOTE
from apps.core.admin.permissions import grant_office_permissions
from apps.core.models import WorkOrder, WorkOrderStatusChange
from tests import factories as f

from .conftest import DAY, at

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
PASSWORD = "correct-horse-battery"

pytestmark = [
    pytest.mark.skipif(
        not (CHROMIUM and CHROMEDRIVER),
        reason="Debian chromium and chromedriver are not installed "
        "(apt-get install -y chromium chromium-driver)",
    ),
    pytest.mark.django_db(transaction=True),
]

# HTML5 drag and drop, dispatched as the browser itself would: Chrome's WebDriver does not drive
# native drag and drop, so the events carry a real DataTransfer and the pointer's coordinates.
DRAG = """
const [card, target, share] = arguments;
const box = target.getBoundingClientRect();
const x = box.left + box.width * share, y = box.top + box.height / 2;
const data = new DataTransfer();
const fire = (node, type) => node.dispatchEvent(new DragEvent(type,
  {bubbles: true, cancelable: true, dataTransfer: data, clientX: x, clientY: y}));
fire(card, 'dragstart'); fire(target, 'dragenter'); fire(target, 'dragover');
fire(target, 'drop'); fire(card, 'dragend');
"""


def make_browser(width=1500, height=1100):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        f"--window-size={width},{height}",
    ):
        options.add_argument(flag)
    # The explicit driver path keeps Selenium Manager from trying to download anything.
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture
def browser():
    pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    driver = make_browser()
    yield driver
    driver.quit()


def sign_in(browser, base_url, username, password=PASSWORD, next_path="/admin/"):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{base_url}/accounts/login/?next={next_path}")
    browser.find_element(By.NAME, "login").send_keys(username)
    browser.find_element(By.NAME, "password").send_keys(password)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    # click() returns before the POST and its redirect finish.
    WebDriverWait(browser, 15).until(lambda b: "/accounts/login/" not in b.current_url)


def lane_share(minute: int, axis: dict) -> float:
    return (minute - axis["start"]) / (axis["end"] - axis["start"])


def test_dispatcher_drags_a_job_onto_a_technician(live_server, browser, office, day_world):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    sign_in(browser, live_server.url, office.username, next_path="/admin/dispatch/")
    browser.get(f"{live_server.url}/admin/dispatch/?date={DAY.isoformat()}")
    wait = WebDriverWait(browser, 15)
    card = wait.until(
        lambda b: b.find_element(By.CSS_SELECTOR, f'#queue .job[data-id="{day_world.waiting.pk}"]')
    )
    lane = browser.find_element(By.CSS_SELECTOR, f'.lane[data-technician="{day_world.marcus.pk}"]')
    axis = browser.execute_script(
        "return JSON.parse(document.getElementById('board-data').textContent).axis"
    )
    browser.execute_script(DRAG, card, lane, lane_share(9 * 60 + 2, axis))

    message = browser.find_element(By.ID, "board-message")
    wait.until(lambda b: "assigned to Marcus Rivera" in message.text)
    assert f"{day_world.waiting.number} assigned to Marcus Rivera, 9:00 AM" in message.text
    # The board redraws from the server: the job now sits in Marcus's lane.
    wait.until(
        lambda b: b.find_elements(
            By.CSS_SELECTOR,
            f'.lane[data-technician="{day_world.marcus.pk}"] .job[data-id="{day_world.waiting.pk}"]',
        )
    )
    order = WorkOrder.objects.get(pk=day_world.waiting.pk)
    assert order.assigned_technician_id == day_world.marcus.pk
    assert order.arrival_window_start == at(DAY, 9)
    assert order.status == "scheduled"
    change = WorkOrderStatusChange.objects.get(work_order=order)
    assert (change.to_status, change.changed_by_id, change.note) == (
        "scheduled",
        office.pk,
        BOARD_NOTE,
    )


def test_keyboard_move_and_a_refused_move_put_back(live_server, browser, office, day_world):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    sign_in(browser, live_server.url, office.username, next_path="/admin/dispatch/")
    browser.get(f"{live_server.url}/admin/dispatch/?date={DAY.isoformat()}")
    wait = WebDriverWait(browser, 15)
    message = browser.find_element(By.ID, "board-message")

    # Keyboard: Marcus's 8:00 job, Enter to pick up, up one row (Jenna), right twice (+1 h), Enter.
    booked = wait.until(
        lambda b: b.find_element(By.CSS_SELECTOR, f'.job[data-id="{day_world.booked.pk}"]')
    )
    booked.send_keys(Keys.ENTER)
    wait.until(lambda b: "Enter to drop" in message.text)
    active = browser.switch_to.active_element
    for key in (Keys.ARROW_UP, Keys.ARROW_RIGHT, Keys.ARROW_RIGHT):
        active.send_keys(key)
    assert "Jenna Ko at 9:00 AM" in message.text
    active.send_keys(Keys.ENTER)
    wait.until(lambda b: "assigned to Jenna Ko" in message.text)
    order = WorkOrder.objects.get(pk=day_world.booked.pk)
    assert order.assigned_technician_id == day_world.jenna.pk
    assert order.arrival_window_start == at(DAY, 9)

    # Refused: a dispatched job dropped on the unassigned queue stays with its technician.
    card = browser.find_element(By.CSS_SELECTOR, f'.job[data-id="{day_world.dispatched.pk}"]')
    queue = browser.find_element(By.CSS_SELECTOR, "aside.queue")
    browser.execute_script(DRAG, card, queue, 0.5)
    wait.until(lambda b: "was not moved" in message.text)
    assert "A dispatched work order needs a technician" in message.text
    assert browser.find_elements(
        By.CSS_SELECTOR,
        f'.lane[data-technician="{day_world.jenna.pk}"] .job[data-id="{day_world.dispatched.pk}"]',
    )
    assert WorkOrder.objects.get(pk=day_world.dispatched.pk).assigned_technician_id == (
        day_world.jenna.pk
    )


def test_board_follows_changes_made_elsewhere(live_server, browser, office, day_world):
    """Another dispatcher's move shows up without a reload (the board polls its JSON)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from apps.core.services.work_orders import work_order_assign

    sign_in(browser, live_server.url, office.username, next_path="/admin/dispatch/")
    browser.get(f"{live_server.url}/admin/dispatch/?date={DAY.isoformat()}")
    wait = WebDriverWait(browser, 15)
    wait.until(
        lambda b: b.find_element(
            By.CSS_SELECTOR, f'#queue .job[data-id="{day_world.emergency.pk}"]'
        )
    )
    browser.execute_script("window.__same_page = true")
    work_order_assign(work_order=day_world.emergency, technician=day_world.jenna, by=None)
    wait.until(
        lambda b: b.find_elements(
            By.CSS_SELECTOR,
            f'.lane[data-technician="{day_world.jenna.pk}"] .job[data-id="{day_world.emergency.pk}"]',
        )
    )
    assert browser.execute_script("return window.__same_page") is True  # no reload happened


def test_dispatcher_navigates_by_task_without_internals(live_server, browser, business):
    from selenium.webdriver.common.by import By

    dispatcher = f.UserFactory(business=business, role="dispatcher", is_staff=True)
    grant_office_permissions(dispatcher)
    sign_in(browser, live_server.url, dispatcher.username)
    nav = browser.find_element(By.ID, "nav-sidebar")
    sections = [c.text.strip() for c in nav.find_elements(By.CSS_SELECTOR, "caption")]
    assert [s.lower() for s in sections] == [
        "dispatch",
        "jobs and customers",
        "billing",
        "messages",
        "integrations",
        "reports",
        "settings",
    ]
    links = {a.text for a in nav.find_elements(By.CSS_SELECTOR, "th a")}
    assert {"Dispatch board", "Work orders", "Invoices", "Conversations", "Connections"} <= links
    for internal in ("Solar schedules", "Clocked schedules", "API tokens", "Authenticators (MFA)"):
        assert internal not in links
    hrefs = " ".join(a.get_attribute("href") for a in nav.find_elements(By.TAG_NAME, "a"))
    for path in ("solarschedule", "clockedschedule", "tokenproxy", "mfa/authenticator"):
        assert path not in hrefs
    nav.find_element(By.LINK_TEXT, "Dispatch board").click()
    assert "Dispatch board" in browser.find_element(By.TAG_NAME, "h1").text


def test_map_uses_leaflet_served_locally_when_a_tile_url_is_set(
    live_server, browser, office, day_world, settings
):
    """With ROUTING_TILE_URL the map is Leaflet (vendored, same origin) drawing each route."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    # Any image stands in for a tile server here; the point is where everything is loaded from.
    settings.ROUTING_TILE_URL = (
        f"{live_server.url}/static/backoffice/vendor/leaflet/images/layers.png?{{z}}/{{x}}/{{y}}"
    )
    sign_in(browser, live_server.url, office.username, next_path="/admin/dispatch/")
    browser.get(f"{live_server.url}/admin/dispatch/?date={DAY.isoformat()}")
    wait = WebDriverWait(browser, 15)
    wait.until(lambda b: b.find_elements(By.CSS_SELECTOR, "#board-map.leaflet-container"))
    lines = wait.until(
        lambda b: b.find_elements(By.CSS_SELECTOR, "#board-map path.leaflet-interactive")
    )
    assert len(lines) >= 2  # Marcus's and Jenna's routes, plus their stops
    colours = browser.execute_script(
        "return [...document.querySelectorAll('#board-map path.leaflet-interactive')]"
        ".map(p => p.getAttribute('stroke'))"
    )
    board = browser.execute_script(
        "return JSON.parse(document.getElementById('board-data').textContent)"
    )
    assert {r["colour"] for r in board["routes"]} <= set(colours)
    hosts = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => new URL(e.name).host)"
    )
    assert set(hosts) <= {live_server.url.split("//")[1]}


def test_map_falls_back_to_plain_svg_without_a_tile_url(live_server, browser, office, day_world):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    sign_in(browser, live_server.url, office.username, next_path="/admin/dispatch/")
    browser.get(f"{live_server.url}/admin/dispatch/?date={DAY.isoformat()}")
    svg = WebDriverWait(browser, 15).until(
        lambda b: b.find_element(By.CSS_SELECTOR, "#board-map svg polyline")
    )
    assert svg.get_attribute("stroke")
    assert not browser.execute_script("return Boolean(window.L)")  # Leaflet not even loaded
