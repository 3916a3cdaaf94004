"""Request logs name the client by the proxy rule (apps/core/net.py): a made-up X-Forwarded-For
is not logged as the client when NUM_PROXIES is 0."""

import pytest
import structlog
from django.test import Client, override_settings


@pytest.fixture
def logged_ips(monkeypatch):
    seen: list[str] = []
    real = structlog.contextvars.bind_contextvars

    def spy(**values):
        if "ip" in values:
            seen.append(values["ip"])
        return real(**values)

    monkeypatch.setattr(structlog.contextvars, "bind_contextvars", spy)
    return seen


def test_a_made_up_forwarded_for_is_not_logged_as_the_client(db, logged_ips):
    Client().get("/healthz", REMOTE_ADDR="198.51.100.7", HTTP_X_FORWARDED_FOR="6.6.6.6")

    assert logged_ips == ["198.51.100.7"]


@override_settings(NUM_PROXIES=1)
def test_behind_a_proxy_the_address_it_wrote_is_logged(db, logged_ips):
    Client().get("/healthz", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.5")

    assert logged_ips == ["203.0.113.5"]
