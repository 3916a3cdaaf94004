"""The customer's tracking page: signed links, the live ETA, nothing personal, tenant-safe."""

from __future__ import annotations

import base64
import datetime as dt
import re
import struct

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from apps.routing.services.plans import route_plan_apply, route_plan_create
from apps.routing.tracking import tracking_link, tracking_url_for
from apps.routing.tracking.tokens import SALT, seal, token_for, work_order_for_token
from tests.api.helpers import client_for

from .conftest import DENVER, PLACES

pytestmark = pytest.mark.django_db
ALL_DAY = (dt.time(0, 1), dt.time(23, 59))


@pytest.fixture
def ann_today(world):
    """Today's applied plan, as in test_api: Ann drives two jobs, whatever the hour."""
    ann = world.technician("Ann", "downtown", shift=ALL_DAY)
    world.job("highlands", minutes=30)
    world.job("arvada", minutes=30)
    plan = route_plan_create(business=world.business, date=dt.datetime.now(DENVER).date())
    route_plan_apply(plan=plan, by=None)
    return ann, plan


@pytest.fixture
def rival_today(rival_world):
    rival_world.technician("Rex", "downtown", shift=ALL_DAY)
    rival_world.job("highlands")
    plan = route_plan_create(business=rival_world.business, date=dt.datetime.now(DENVER).date())
    route_plan_apply(plan=plan, by=None)
    return plan


def _path(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8000")


def _first_order(plan):
    return plan.stops.order_by("sequence").select_related("work_order").first().work_order


def _post_fix(ann, place: str, capture) -> None:
    lat, lng = PLACES[place]
    with capture(execute=True):
        response = client_for(ann.user).post(
            "/api/v1/technicians/me/location",
            {"latitude": f"{lat:.6f}", "longitude": f"{lng:.6f}"},
            format="json",
        )
    assert response.status_code == 201, response.content


def test_the_link_round_trips_to_its_order_and_hides_the_number(ann_today):
    _, plan = ann_today
    order = _first_order(plan)
    url = tracking_url_for(order)
    assert url.startswith("http://127.0.0.1:8000/track/") and url.endswith("/")
    assert order.number not in url
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert work_order_for_token(token) == order
    assert Client().get(_path(url)).status_code == 200  # no login needed


def test_a_tampered_token_answers_like_a_missing_page(ann_today):
    _, plan = ann_today
    path = _path(tracking_url_for(_first_order(plan)))
    token = path.removeprefix("/track/").rstrip("/")
    middle = len(token) // 2
    flipped = token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]
    last = token[:-1] + ("B" if token[-1] == "A" else "A")  # same bytes spelt differently
    missing = Client().get("/track/nothing-here/")
    for bad in (flipped, last, token[:-3], token + "AAAA", "nothing-here"):
        response = Client().get(f"/track/{bad}/")
        assert response.status_code == 404
        assert response.content == missing.content


def test_the_token_reveals_no_ids(ann_today, rival_today):
    _, plan = ann_today
    order = _first_order(plan)
    tokens = {token_for(order) for _ in range(5)}
    assert len(tokens) == 5  # a fresh nonce each time: nothing stable to correlate
    far = seal(work_order_id=2**40, business_id=2**40, issued_at=timezone.now())
    assert {len(t) for t in tokens} == {len(far)}  # the length says nothing about the ids
    for token in tokens:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        for number in (order.pk, order.business_id):
            assert struct.pack(">Q", number) not in raw  # the sealed ids are not in clear
        with pytest.raises(signing.BadSignature):
            signing.loads(token, salt=SALT)
        assert work_order_for_token(token) == order


def test_old_signed_tokens_and_other_keys_are_refused(ann_today, settings):
    _, plan = ann_today
    order = _first_order(plan)
    # The former format, validly signed: it showed the ids, so it opens nothing any more.
    legacy = signing.dumps({"w": order.pk, "b": order.business_id}, salt=SALT)
    assert Client().get(f"/track/{legacy}/").status_code == 404
    token = token_for(order)
    settings.SECRET_KEY = "another-secret-key-entirely"
    assert Client().get(f"/track/{token}/").status_code == 404
    # A rotated key keeps working while it is listed as a fallback.
    settings.SECRET_KEY_FALLBACKS = ["test-secret-key-not-for-production"]
    assert Client().get(f"/track/{token}/").status_code == 200


def test_an_expired_token_is_refused(ann_today):
    _, plan = ann_today
    order = _first_order(plan)
    eight_days_ago = timezone.now() - dt.timedelta(days=8)
    old = seal(work_order_id=order.pk, business_id=order.business_id, issued_at=eight_days_ago)
    six_days_ago = timezone.now() - dt.timedelta(days=6)
    recent = seal(work_order_id=order.pk, business_id=order.business_id, issued_at=six_days_ago)
    assert Client().get(f"/track/{old}/").status_code == 404
    assert Client().get(f"/track/{recent}/").status_code == 200


def test_a_token_naming_another_business_is_refused(ann_today, rival_today):
    _, plan = ann_today
    rival_plan = rival_today
    order = _first_order(plan)
    # Validly sealed, but the order is not that business's: both ids must agree.
    token = seal(
        work_order_id=order.pk, business_id=rival_plan.business_id, issued_at=timezone.now()
    )
    assert Client().get(f"/track/{token}/").status_code == 404
    rival_order = _first_order(rival_plan)
    assert Client().get(_path(tracking_url_for(rival_order))).status_code == 200


def test_request_logs_mask_the_token(ann_today):
    from apps.integrations.redaction import MASK, redact_url_tokens

    _, plan = ann_today
    path = _path(tracking_url_for(_first_order(plan)))
    event = redact_url_tokens(None, "info", {"request": f"GET {path}?format=json"})
    assert event["request"] == f"GET /track/{MASK}/?format=json"


def test_the_page_shows_the_eta_a_location_post_moved(
    ann_today, django_capture_on_commit_callbacks
):
    ann, plan = ann_today
    order = _first_order(plan)
    ann.user.last_name = "Secretlastname"
    ann.user.save(update_fields=["last_name"])
    path = _path(tracking_url_for(order))
    shown = {}
    for place in ("highlands", "boulder"):
        _post_fix(ann, place, django_capture_on_commit_callbacks)
        eta = plan.stops.get(work_order=order).eta.astimezone(DENVER)
        response = Client().get(path)
        assert response.status_code == 200
        html = response.content.decode()
        shown[place] = re.search(r'id="eta">([^<]+)<', html).group(1)
        assert shown[place] == f"{eta:%-I:%M %p}"  # Denver time, the business's zone
    assert shown["highlands"] != shown["boulder"]  # the drive from Boulder moved it
    assert 'http-equiv="refresh" content="60"' in html
    assert "Acme HVAC" in html and "Ann" in html
    for private in ("Secretlastname", str(order.location.customer.phone), "$", "<script"):
        assert private not in html
    assert order.location.postal_code not in html  # street and city only


def test_json_variant_and_no_store(ann_today, django_capture_on_commit_callbacks):
    ann, plan = ann_today
    order = _first_order(plan)
    _post_fix(ann, "highlands", django_capture_on_commit_callbacks)
    path = _path(tracking_url_for(order))
    stop = plan.stops.get(work_order=order)
    for response in (
        Client().get(path, {"format": "json"}),
        Client().get(path, headers={"accept": "application/json"}),
    ):
        assert response["Content-Type"] == "application/json"
        assert "no-store" in response["Cache-Control"]
        body = response.json()
        assert set(body) == {"status", "eta", "window_start", "window_end", "technician"}
        assert body["technician"] == "Ann" and body["status"] == "scheduled"
        assert dt.datetime.fromisoformat(body["eta"]) == stop.eta
        assert body["eta"].endswith(("-07:00", "-06:00"))  # Denver's offset
    html = Client().get(path)
    assert html["Content-Type"].startswith("text/html") and "no-store" in html["Cache-Control"]


@pytest.mark.parametrize(
    ("status", "words", "has_eta"),
    [
        ("en_route", "on the way", True),
        ("on_site", "on site", False),
        ("completed", "done", False),
        ("cancelled", "cancelled", False),
    ],
)
def test_status_in_words_and_eta_only_while_awaited(ann_today, status, words, has_eta):
    _, plan = ann_today
    order = _first_order(plan)
    type(order).objects.filter(pk=order.pk).update(status=status)
    body = Client().get(_path(tracking_url_for(order)), {"format": "json"}).json()
    assert body["status"] == words
    assert (body["eta"] is not None) is has_eta


def test_without_a_plan_the_window_is_shown(world):
    tech = world.technician("Bea")
    start = timezone.now().astimezone(DENVER).replace(
        hour=9, minute=0, second=0, microsecond=0
    ) + dt.timedelta(days=2)
    order = world.job(
        window=(start, start + dt.timedelta(hours=2)), assigned_technician=tech, status="scheduled"
    )
    path = _path(tracking_url_for(order))
    body = Client().get(path, {"format": "json"}).json()
    assert body["eta"] is None and body["technician"] == "Bea"
    assert dt.datetime.fromisoformat(body["window_start"]) == start
    html = Client().get(path).content.decode()
    assert re.search('id="eta">9:00 AM\u201311:00 AM<', html)


def test_comms_links_to_our_page_unless_the_business_has_its_own(ann_today):
    from apps.comms.models import CommsSettings
    from apps.comms.rendering import context_for

    _, plan = ann_today
    order = _first_order(plan)
    link = context_for(work_order=order, with_invoice=False)["tracking_link"]
    assert link.startswith("http://127.0.0.1:8000/track/")
    assert Client().get(_path(link)).status_code == 200
    own = CommsSettings(business=order.business, tracking_url="https://t.example/{tracking_token}")
    link = context_for(work_order=order, with_invoice=False, cfg=own)["tracking_link"]
    assert work_order_for_token(link.removeprefix("https://t.example/")) == order
    numbered = tracking_link(work_order=order, url_format="https://t.example/{work_order_number}")
    assert numbered == f"https://t.example/{order.number}"
