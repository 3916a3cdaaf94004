"""OpenAPI schema and the offline Swagger UI."""

import re

import pytest
from django.contrib.staticfiles import finders
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from openapi_spec_validator import validate
from rest_framework.test import APIClient

OUR_PATHS = {
    "/api/v1/auth/token/": {"post"},
    "/api/v1/me/": {"get"},
    "/api/v1/work-orders/": {"get"},
    "/api/v1/work-orders/{id}/": {"get"},
    "/api/v1/work-orders/{id}/transition/": {"post"},
    "/api/v1/work-orders/{id}/lines/": {"post"},
    "/api/v1/work-orders/{id}/lines/{line_id}/": {"patch", "delete"},
    "/api/v1/": {"get"},
}


@pytest.fixture
def schema(db):
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_schema_is_valid_openapi(schema):
    assert schema["openapi"].startswith(("3.0", "3.1"))
    validate(schema)  # raises on any violation of the OpenAPI specification


def test_the_schema_documents_every_endpoint(schema):
    for path, methods in OUR_PATHS.items():
        assert path in schema["paths"], path
        assert methods <= set(schema["paths"][path]), path


def test_the_schema_documents_filters_and_bodies(schema):
    params = {p["name"] for p in schema["paths"]["/api/v1/work-orders/"]["get"]["parameters"]}
    assert {"date", "status", "priority", "assigned_technician", "ordering", "page"} <= params
    lines = schema["paths"]["/api/v1/work-orders/{id}/lines/"]["post"]
    assert set(lines["responses"]) >= {"201", "400", "404"}
    line = schema["paths"]["/api/v1/work-orders/{id}/lines/{line_id}/"]
    assert set(line["patch"]["responses"]) >= {"200", "400", "403", "404"}
    assert set(line["delete"]["responses"]) >= {"204", "400", "403", "404"}
    [line_id] = [p for p in line["patch"]["parameters"] if p["name"] == "line_id"]
    assert line_id["schema"]["type"] == "integer"
    apply = schema["paths"]["/api/v1/routing/plans/{id}/apply/"]["post"]
    assert set(apply["responses"]) >= {"200", "409"}
    token = schema["paths"]["/api/v1/auth/token/"]["post"]
    assert "token" in schema["components"]["schemas"]["AuthToken"]["properties"]
    assert "security" not in token  # signing in needs no prior credentials


def test_our_endpoints_generate_without_warnings(db):
    GENERATOR_STATS.reset()
    SchemaGenerator(urlconf="apps.core.api.urls").get_schema(request=None, public=True)

    assert not GENERATOR_STATS, dict(GENERATOR_STATS._warn_cache)


def test_the_docs_page_loads_nothing_from_other_hosts(db):
    response = APIClient().get("/api/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn" not in html.lower()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets, "the page should load the Swagger UI bundle"
    # Swagger's start-up script is served by the view itself (no inline script: the CSP).
    assert "/api/docs/?script=" in assets
    for asset in (a for a in assets if a != "/api/docs/?script="):
        assert asset.startswith("/static/"), asset
        # Served by this deployment: the file exists among the collected static files.
        assert finders.find(asset.removeprefix("/static/")), asset
    assert not re.search(r"https?://(?!testserver)", html)


def _resolve(schema, node):
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_the_error_shape_does_not_require_errors(schema):
    error = schema["components"]["schemas"]["ApiError"]
    assert set(error["required"]) == {"detail", "code"}  # 401/403/404/429 carry no `errors`
    values = error["properties"]["errors"]["additionalProperties"]["oneOf"]
    assert {"type": "array", "items": {"type": "string"}} in values  # nested input nests


def test_every_operation_documents_the_errors_it_can_answer(schema):
    for path, item in schema["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for method, operation in item.items():
            codes = set(operation["responses"])
            where = f"{method.upper()} {path}"
            if path not in ("/api/v1/auth/token/", "/api/v1/"):  # the two public entry points
                assert {"401", "403"} <= codes, where
            if "{id}" in path:
                assert "404" in codes, where
            if method == "post":
                assert "400" in codes, where
            for code in codes - {"200", "201", "202", "204", "302"}:
                content = operation["responses"][code]["content"]["application/json"]
                # The one error shape, or (a confirmation asked for, 409) that shape plus what
                # the caller must confirm.
                body = _resolve(schema, content["schema"])
                assert {"detail", "code"} <= set(body.get("required", [])), where
                if code != "409":
                    assert content["schema"] == {"$ref": "#/components/schemas/ApiError"}, where


def test_blank_choices_are_in_the_schema(schema):
    refrigerant = schema["components"]["schemas"]["Equipment"]["properties"]["refrigerant"]
    allowed = [_resolve(schema, option).get("enum") for option in refrigerant["oneOf"]]
    assert [""] in allowed and any("R-410A" in (values or []) for values in allowed)


@pytest.mark.parametrize(
    ("path", "method", "code"),
    [
        ("/api/v1/diagnostics/work-orders/{id}/readings/", "get", "200"),
        ("/api/v1/diagnostics/work-orders/{id}/findings/", "get", "200"),
        ("/api/v1/diagnostics/work-orders/{id}/analyze/", "post", "200"),
        ("/api/v1/payments/customers/{id}/payment-methods/", "get", "200"),
    ],
)
def test_plain_lists_are_documented_as_lists(schema, path, method, code):
    body = schema["paths"][path][method]["responses"][code]["content"]["application/json"]
    assert body["schema"]["type"] == "array"


def test_times_of_day_have_no_offset_format(schema):
    profile = schema["components"]["schemas"]["TechnicianProfile"]["properties"]
    assert "format" not in profile["shift_start"] and profile["shift_start"]["pattern"]
