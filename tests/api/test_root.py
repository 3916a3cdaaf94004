"""GET /api/v1/ (the API's entry points) and / (the front page)."""

import pytest
from rest_framework.test import APIClient

from tests import factories as f


def test_the_api_root_lists_every_entry_point_without_signing_in(db):
    response = APIClient().get("/api/v1/")
    assert response.status_code == 200
    body = response.json()
    assert body["documentation"] == {
        "swagger_ui": "http://testserver/api/docs/",
        "redoc": "http://testserver/api/redoc/",
        "openapi_schema": "http://testserver/api/schema/",
    }
    assert "http://testserver/api/v1/auth/token/" in body["authentication"]
    endpoints = {e["path"]: e["methods"] for e in body["endpoints"]}
    assert endpoints["/api/v1/auth/token/"] == ["POST"]
    assert endpoints["/api/v1/work-orders/"] == ["GET"]
    assert endpoints["/api/v1/work-orders/{pk}/lines/{line_id}/"] == ["DELETE", "PATCH"]
    assert endpoints["/api/v1/work-orders/{pk}/transition/"] == ["POST"]
    assert endpoints["/api/v1/routes/today/"] == ["GET"]
    assert endpoints["/api/v1/routing/plans/{pk}/apply/"] == ["POST"]
    assert "/api/v1/" not in endpoints  # the root does not list itself


def test_every_listed_entry_point_exists(db):
    """Each path answers something other than 404 (401/403/405 are fine: it exists)."""
    client = APIClient()
    for entry in client.get("/api/v1/").json()["endpoints"]:
        path = entry["path"].replace("{pk}", "1").replace("{line_id}", "1")
        method = entry["methods"][0].lower()
        response = getattr(client, method)(path)
        assert response.status_code != 404 or "{pk}" in entry["path"], entry


def test_a_stale_token_does_not_hide_the_map(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert client.get("/api/v1/").status_code == 200


def test_the_front_page_shows_the_ways_in(client, db):
    response = client.get("/")
    assert response.status_code == 200
    page = response.content.decode()
    for href in ('href="/admin/"', 'href="/api/docs/"', 'href="/api/v1/"'):
        assert href in page
    assert "Sign in to the back office" in page
    assert "<script" not in page and "style=" not in page  # a strict CSP serves it as is


def test_signed_in_office_staff_go_to_the_back_office(client, dispatcher):
    dispatcher.is_staff = True
    dispatcher.save(update_fields=["is_staff"])
    client.force_login(dispatcher)
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, "/admin/")


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_the_front_page_only_answers_reads(client, db, method):
    assert getattr(client, method)("/").status_code == 405


def test_a_signed_in_technician_sees_the_front_page(client, business):
    technician = f.TechnicianFactory(business=business)
    client.force_login(technician.user)
    response = client.get("/")
    assert response.status_code == 200 and b"Back office" in response.content
