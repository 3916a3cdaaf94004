"""Tracking links are bearer credentials: request logs must not keep a working one."""

import structlog

from apps.integrations.redaction import MASK, redact_url_tokens


def test_tracking_tokens_are_masked_in_every_string_field():
    event = {
        "event": "request_finished",
        "request": "GET /track/eyJ3IjoyLCJiIjoxfQ:1vM:abc/?format=json",
        "code": 200,
    }
    out = redact_url_tokens(None, "info", event)
    assert out["request"] == f"GET /track/{MASK}/?format=json"
    assert out["code"] == 200


def test_other_paths_are_left_alone():
    event = {"request": "GET /api/v1/work-orders/12/"}
    assert redact_url_tokens(None, "info", dict(event)) == event


def test_the_processor_runs_before_rendering():
    processors = structlog.get_config()["processors"]
    assert redact_url_tokens in processors
    assert processors.index(redact_url_tokens) < len(processors) - 1
