"""The OpenAPI schema matches what the API answers: schemathesis generates requests for every
operation in /api/schema/ (valid and invalid ones) and sends them to the WSGI app with a
technician's token and a dispatcher's token. No answer may be a server error, use an
undocumented status code or content type, or break its documented response schema.

Deterministic (derandomized Hypothesis, no example database) and bounded (a few examples per
operation and mode), so it runs in a couple of minutes on SQLite and on PostgreSQL."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from apps.accounting.qbo_fake import QboFake
from tests.api.world import build_api_world
from tests.payments import fakes

pytestmark = pytest.mark.django_db

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 6}


@pytest.fixture(scope="module")
def vendors():
    """Stripe (localstripe) and QuickBooks (our fake) on 127.0.0.1, so vendor calls answer."""
    stripe = fakes.start_localstripe()
    try:
        with QboFake() as qbo:
            yield {
                "stripe_url": stripe.url,
                "qbo_url": qbo.api_base_url,
                "qbo_discovery_url": qbo.discovery_url,
            }
    finally:
        stripe.stop()


@pytest.fixture
def api_schema(settings):
    settings.ROUTING_POLICY = {"plan_seconds": 0.2, "replan_seconds": 0.2}
    # Requests go through the real WSGI handler, whose request signals close the database
    # connection; the test's transaction lives on it. Django's test client detaches the same
    # receiver for the same reason.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _clamp_solver_time(case) -> None:
    # The optimiser may think up to 30 s per request; the schema run is about answers, not plans.
    if isinstance(case.body, dict) and isinstance(case.body.get("time_limit"), int | float):
        case.body["time_limit"] = min(max(case.body["time_limit"], 0.1), 0.2)


# Which kind of object the {id} of each path names (the rest of the path is the operation).
PATH_KINDS = [
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
ID_FIELDS = {"work_order", "equipment", "technician", "connection", "saved_payment_method", "part"}


def _with_real_ids(case, ids: dict[str, int]) -> None:
    """Point a generated request at real objects: random ids mostly answer 404, and the point
    is also to see what the API answers about objects that exist."""
    if case.path_parameters and "id" in case.path_parameters:
        kind = next(k for prefix, k in PATH_KINDS if case.operation.path.startswith(prefix))
        case.path_parameters["id"] = ids[kind]
    if case.query:
        for name in ID_FIELDS & set(case.query):
            case.query[name] = ids[name]

    def walk(value):
        if isinstance(value, dict):
            for key in list(value):
                if key in ID_FIELDS and isinstance(value[key], int):
                    value[key] = ids[key]
                else:
                    walk(value[key])
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(case.body)


def _examples(operation, mode: GenerationMode, token: str, ids: dict[str, int]):
    """A Hypothesis test sending `mode` requests for one operation and checking each answer."""

    @hypothesis.given(case=operation.as_strategy(generation_mode=mode), real=st.booleans())
    @hypothesis.settings(
        max_examples=EXAMPLES[mode],
        derandomize=True,  # the same requests on every run
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: reports stay fast
        suppress_health_check=list(HealthCheck),
    )
    def run(case, real):
        if real and mode is GenerationMode.POSITIVE:  # invalid requests stay invalid
            _with_real_ids(case, ids)
        _clamp_solver_time(case)
        response = case.call(headers={"Authorization": f"Token {token}"})
        case.validate_response(response, checks=CHECKS)

    return run


def _run_operation(operation, token: str, ids: dict[str, int]) -> list[str]:
    failures: list[str] = []
    for mode in EXAMPLES:
        try:
            _examples(operation, mode, token, ids)()
        except Unsatisfiable:
            continue  # nothing to make invalid (no parameters, no body)
        except (Exception, BaseExceptionGroup) as exc:  # report every operation's failures
            failures.append(f"{operation.label} [{mode.value}]: {exc}")
    return failures


@pytest.mark.parametrize("role", ["technician", "dispatcher"])
def test_every_operation_answers_as_documented(api_schema, vendors, business, other_business, role):
    ours = build_api_world(business, **vendors)
    build_api_world(other_business, **vendors)  # ids of another business exist too
    token = getattr(ours, f"{role}_token")
    ids = ours.ids()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 40
    failures = [f for operation in operations for f in _run_operation(operation, token, ids)]
    assert not failures, "\n\n".join(failures)
