"""/healthz, /readyz and /metrics."""

import datetime as dt

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.monitoring.models import Heartbeat
from apps.monitoring.services.schedules import monitoring_schedules_setup
from apps.monitoring.tasks import heartbeat_task
from tests.monitoring.conftest import log


def test_liveness_needs_nothing(client):
    response = client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_ready_with_database_cache_and_broker_but_no_workers_yet(client, db):
    response = client.get("/readyz")
    body = response.json()

    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert {n: c["ok"] for n, c in body["checks"].items()} == {
        "database": True,
        "cache": True,
        "broker": True,
        "worker": False,
        "beat": False,
    }
    assert "setup_monitoring_schedules" in body["checks"]["worker"]["detail"]


def test_heartbeats_make_everything_ready(client, db):
    monitoring_schedules_setup()
    for queue in ("urgent", "sync", "bulk", "default"):
        heartbeat_task.delay(queue)  # eager in tests: what a worker of each queue does
    PeriodicTask.objects.filter(name__startswith="monitoring:heartbeat:").update(
        last_run_at=timezone.now()  # what beat records when it sends them
    )

    response = client.get("/readyz", {"require": "all"})

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert Heartbeat.objects.count() == 4


def test_a_silent_queue_fails_strict_readiness(client, db):
    monitoring_schedules_setup()
    for queue in ("urgent", "sync", "bulk"):
        heartbeat_task.delay(queue)
    Heartbeat.objects.filter(component="worker:sync").update(
        beat_at=timezone.now() - dt.timedelta(minutes=6)
    )

    response = client.get("/readyz", {"require": "worker"})
    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "unavailable"
    detail = body["checks"]["worker"]["detail"]
    assert "default: never" in detail and "sync: 360s ago" in detail


def test_a_failing_required_check_is_503_without_details_of_the_error(client, db, monkeypatch):
    from django.core.cache import cache

    def broken(*args, **kwargs):
        raise ConnectionError("redis://:hunter2@cache.internal:6379 refused")

    monkeypatch.setattr(cache, "set", broken)
    response = client.get("/readyz")
    body = response.json()

    assert response.status_code == 503
    assert body["checks"]["cache"] == {
        "ok": False,
        "required": True,
        "detail": "failed: ConnectionError",
        "ms": body["checks"]["cache"]["ms"],
    }
    assert "hunter2" not in response.content.decode()


@pytest.fixture
def scrape_data(books):
    log(books, 9, at=timezone.now() - dt.timedelta(minutes=5), duration_ms=40)
    log(books, 1, at=timezone.now() - dt.timedelta(minutes=5), outcome="rate_limited")
    return books


@pytest.mark.parametrize("with_token", [False, True])
def test_metrics_for_an_allowed_address_or_the_token(client, scrape_data, settings, with_token):
    settings.MONITORING_METRICS_TOKEN = "scrape-token-123"
    auth = {"HTTP_AUTHORIZATION": "Bearer scrape-token-123"} if with_token else {}
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", **auth)
    text = response.content.decode()

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain; version=")
    # Tenant names only for the token; an address alone gets ids.
    base = {
        "business": "acme-hvac" if with_token else str(scrape_data.business_id),
        "connection_id": str(scrape_data.pk),
        "connection": "Books" if with_token else str(scrape_data.pk),
        "provider": "quickbooks",
    }
    names = ("acme-hvac", scrape_data.business.name, '"Books"')
    if with_token:
        assert all(name in text for name in names[::2])
    else:
        assert not any(name in text for name in names)
    for name, extra, value in [
        ("thorbis_integration_operations_24h", {"outcome": "success"}, "9.0"),
        ("thorbis_integration_operations_24h", {"outcome": "rate_limited"}, "1.0"),
        ("thorbis_integration_success_ratio_24h", {}, "0.9"),
        ("thorbis_integration_status", {"status": "warning"}, "1.0"),
        ("thorbis_integration_status", {"status": "healthy"}, "0.0"),
        ("thorbis_integration_needs_reconnect", {}, "0.0"),
    ]:
        assert sample(name, value, **base, **extra) in text


def sample(name: str, value: str, **labels: str) -> str:
    """One exposition line; the client writes labels in alphabetical order."""
    pairs = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    return f"{name}{{{pairs}}} {value}\n"


def test_metrics_refuse_strangers_and_accept_the_token(client, scrape_data, settings):
    settings.MONITORING_METRICS_TOKEN = "scrape-token-123"
    far = {"REMOTE_ADDR": "203.0.113.9"}

    refused = client.get("/metrics", **far)
    assert refused.status_code == 403
    assert "MONITORING_METRICS_TOKEN" in refused.content.decode()
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong", **far).status_code == 403
    allowed = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-token-123", **far)
    assert allowed.status_code == 200

    settings.MONITORING_METRICS_ALLOWED_IPS = "203.0.113.0/24"
    assert client.get("/metrics", **far).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"HTTP_X_FORWARDED_FOR": "203.0.113.9"},
        {"HTTP_X_REAL_IP": "203.0.113.9"},
        {"HTTP_FORWARDED": "for=203.0.113.9"},
        {"HTTP_X_FORWARDED_FOR": "127.0.0.1"},  # a client's made-up header is still a proxy's
    ],
)
def test_metrics_stay_closed_behind_a_local_reverse_proxy(client, scrape_data, headers):
    # nginx on the same machine connects from 127.0.0.1; NUM_PROXIES was not set.
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1", **headers)

    assert response.status_code == 403
    assert "acme-hvac" not in response.content.decode()


def test_behind_configured_proxies_the_allow_list_sees_the_client(client, scrape_data, settings):
    settings.NUM_PROXIES = 1
    proxied = client.get("/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert proxied.status_code == 403
    spoofed = client.get(
        "/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="127.0.0.1, 203.0.113.9"
    )
    assert spoofed.status_code == 403
    # A scraper on the machine itself, straight to the app (no proxy header), is local.
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 200
