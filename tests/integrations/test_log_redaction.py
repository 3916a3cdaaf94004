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


def test_the_gunicorn_access_log_masks_tracking_tokens():
    import datetime as dt
    import types

    from gunicorn.config import Config

    from thorbis.gunicorn_logging import RedactingLogger

    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/track/eyJ3IjoyfQ:1vM:abc/",
        "PATH_INFO": "/track/eyJ3IjoyfQ:1vM:abc/",
        "QUERY_STRING": "",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": "https://example.com/track/eyJ3IjoyfQ:1vM:abc/",
    }
    resp = types.SimpleNamespace(status="200 OK", headers=[], sent=10)
    req = types.SimpleNamespace(headers=[])
    atoms = RedactingLogger(Config()).atoms(resp, req, environ, dt.timedelta(milliseconds=3))
    assert "eyJ3" not in repr(atoms)
    assert atoms["r"] == f"GET /track/{MASK}/ HTTP/1.1"


def test_console_tracebacks_carry_no_local_variables():
    """A webhook view's locals hold the raw body (and credentials): tracebacks must not show them."""
    import logging.config

    from thorbis.settings import LOGGING

    formatter = logging.config.DictConfigurator(LOGGING).configure_formatter(
        dict(LOGGING["formatters"]["console"])
    )

    def view(body):
        raise ValueError("bad payload")

    secret = "YDOB-KOOHBEW-TERCES"[::-1]  # not in the source lines the traceback shows
    try:
        view(secret.encode())
    except ValueError:
        import sys

        record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "boom", (), None)
        record.exc_info = sys.exc_info()
    rendered = formatter.format(record)
    assert "bad payload" in rendered and secret not in rendered
