"""Every id the API takes (in the path, the query or the body): a non-number, a negative, a huge
number, another business's id and a missing id all answer the API's JSON 4xx, never a 500 or
Django's HTML page; another business's id answers exactly like a missing one."""

from __future__ import annotations

import re
import uuid

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from tests import factories as f
from tests.api.world import build_api_world

pytestmark = pytest.mark.django_db

# Which kind of object the {id} of each path names.
KINDS = [
    ("/api/v1/work-orders/", "work_order"),
    ("/api/v1/diagnostics/work-orders/", "work_order"),
    ("/api/v1/diagnostics/equipment/", "equipment"),
    ("/api/v1/diagnostics/findings/", "finding"),
    ("/api/v1/integrations/", "connection"),
    ("/api/v1/payments/customers/", "customer"),
    ("/api/v1/payments/intents/", "intent"),
    ("/api/v1/payments/invoices/", "invoice"),
    ("/api/v1/routing/plans/", "plan"),
]
BAD = ["abc", "-1", "0", str(2**70), "1.5", "1e3", "%C2%B2", "%20"]


@pytest.fixture
def worlds(business, other_business):
    return build_api_world(business), build_api_world(other_business)


@pytest.fixture(scope="module")
def detail_operations(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    found = []
    for path, item in schema["paths"].items():
        if "{id}" not in path:
            continue
        kind = next(k for prefix, k in KINDS if path.startswith(prefix))
        for method in item:
            if method in ("get", "post", "put", "patch", "delete"):
                found.append((method, path.replace("{fmt}", "html"), kind))
    return found


def _client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    client.raise_request_exception = False
    return client


def _call(client, method, path, value):
    return getattr(client, method)(path.replace("{id}", value), {}, format="json")


def _missing_id(kind_ids: list[int]) -> str:
    return str(max(kind_ids) + 100_000)


def _assert_json_4xx(response, where):
    assert 400 <= response.status_code < 500, (where, response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/json", (where, response["Content-Type"])
    body = response.json()
    assert set(body) >= {"detail", "code"}, (where, body)


@pytest.mark.parametrize("role", ["dispatcher", "technician"])
def test_every_detail_route_answers_json_4xx_for_bad_ids(worlds, detail_operations, role):
    ours, _theirs = worlds
    client = _client(getattr(ours, f"{role}_token"))
    assert len(detail_operations) >= 20
    for method, path, _kind in detail_operations:
        for value in BAD:
            _assert_json_4xx(_call(client, method, path, value), (method, path, value))


@pytest.mark.parametrize("role", ["dispatcher", "technician"])
def test_another_business_id_answers_like_a_missing_id_on_every_route(
    worlds, detail_operations, role
):
    ours, theirs = worlds
    client = _client(getattr(ours, f"{role}_token"))
    for method, path, kind in detail_operations:
        foreign_id = theirs.ids()[kind]
        missing = _missing_id([ours.ids()[kind], foreign_id])
        foreign = _call(client, method, path, str(foreign_id))
        absent = _call(client, method, path, missing)
        where = (role, method, path)
        _assert_json_4xx(foreign, where)
        assert foreign.status_code == absent.status_code, where
        assert foreign.content == absent.content, where


def test_unknown_api_paths_answer_the_json_404(worlds):
    ours, _ = worlds
    client = _client(ours.dispatcher_token)
    for path in ("/api/v1/nothing-here/", "/api/v1/integrations/abc/sync", "/api/nope"):
        response = client.post(path) if path.endswith("/sync") else client.get(path)
        assert response.status_code == 404, path
        assert response.json() == {"detail": "Not found.", "code": "not_found"}
    # Pages outside the API keep Django's HTML 404.
    page = client.get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    ("path", "param", "kind"),
    [
        ("/api/v1/routes/today/", "technician", "technician"),
        ("/api/v1/integrations/quickbooks/auth", "connection", "connection"),
        ("/api/v1/integrations/xero/auth", "connection", "connection"),
    ],
)
def test_query_ids_answer_json_4xx_and_foreign_like_missing(worlds, path, param, kind):
    ours, theirs = worlds
    client = _client(ours.dispatcher_token)
    for value in [*BAD, "\u00b2", "1\u0660"]:  # superscript two, Arabic-Indic zero: isdigit()
        _assert_json_4xx(client.get(path, {param: value}), (path, value))
    foreign_id = theirs.ids()[kind]
    foreign = client.get(path, {param: foreign_id})
    absent = client.get(path, {param: _missing_id([ours.ids()[kind], foreign_id])})
    _assert_json_4xx(foreign, path)
    assert (foreign.status_code, foreign.content) == (absent.status_code, absent.content)


def _reading(work_order_id, **extra):
    return {
        "client_id": str(uuid.uuid4()),
        "work_order": work_order_id,
        "quantity": "co",
        "value": "1",
        "unit": "ppm",
        "taken_at": timezone.now().isoformat(),
        **extra,
    }


def test_ids_in_request_bodies_answer_foreign_like_missing(worlds):
    ours, theirs = worlds
    tech = _client(ours.technician_token)
    office = _client(ours.dispatcher_token)
    wo, eq = ours.work_order.pk, ours.equipment.pk
    foreign_part = f.PartFactory(business=theirs.business)
    report_id = theirs.work_order.pk  # any id: no reports exist, so it must read as missing
    cases = [
        # (client, path, body with foreign id, body with missing id)
        (
            tech,
            "/api/v1/diagnostics/readings/",
            {"readings": [_reading(theirs.work_order.pk)]},
            {"readings": [_reading(10**9)]},
        ),
        (
            tech,
            "/api/v1/diagnostics/readings/",
            {"readings": [_reading(wo, equipment=theirs.equipment.pk)]},
            {"readings": [_reading(wo, equipment=10**9)]},
        ),
        (
            tech,
            f"/api/v1/diagnostics/work-orders/{wo}/readings/",
            {"quantity": "co", "value": "1", "unit": "ppm", "equipment": theirs.equipment.pk},
            {"quantity": "co", "value": "1", "unit": "ppm", "equipment": 10**9},
        ),
        (
            office,
            f"/api/v1/diagnostics/work-orders/{wo}/report/email/",
            {"report": report_id},
            {"report": 10**9},
        ),
        (
            office,
            f"/api/v1/work-orders/{wo}/lines/",
            {"kind": "part", "part": foreign_part.pk},
            {"kind": "part", "part": 10**9},
        ),
        (
            office,
            f"/api/v1/payments/invoices/{ours.invoice.pk}/payment-intents/",
            {"saved_payment_method": theirs.intent.pk},
            {"saved_payment_method": 10**9},
        ),
    ]
    for client, path, foreign_body, missing_body in cases:
        foreign = client.post(path, foreign_body, format="json")
        absent = client.post(path, missing_body, format="json")
        _assert_json_4xx(foreign, path)
        assert foreign.status_code == absent.status_code, (path, foreign.content)
        # The bodies may only differ by the id itself, echoed back in the message.
        assert re.sub(r"\d+", "N", foreign.content.decode()) == re.sub(
            r"\d+", "N", absent.content.decode()
        ), path
    assert eq  # the own equipment exists: the foreign one was refused for not being ours
