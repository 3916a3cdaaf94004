"""Endpoints for load balancers, orchestrators and Prometheus.

/healthz  liveness: the process answers (no dependency checked, so a database outage does not
          make an orchestrator restart every web process).
/readyz   readiness: database, cache, broker (required by default: 503 when one fails), and the
          worker and beat heartbeats (reported; required with ?require=all or a setting).
/metrics  Prometheus text format: with the bearer token, labelled with business and connection
          names; from an allowed address (never one behind an unconfigured proxy), ids only.
"""

from __future__ import annotations

import hmac
import ipaddress
import time
import uuid

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_celery_beat.models import PeriodicTask

from apps.core.net import came_through_untrusted_proxy, client_address
from apps.monitoring.conf import setting, setting_list
from apps.monitoring.models import Heartbeat

CHECKS = ("database", "cache", "broker", "worker", "beat")
HEARTBEAT_PREFIX = "monitoring:heartbeat:"


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> tuple[bool, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return True, connection.vendor


def _check_cache() -> tuple[bool, str]:
    key, token = f"monitoring:readyz:{uuid.uuid4().hex}", uuid.uuid4().hex
    cache.set(key, token, timeout=10)
    ok = cache.get(key) == token
    cache.delete(key)
    return ok, "read back" if ok else "wrote a value and could not read it back"


def _check_broker() -> tuple[bool, str]:
    from thorbis.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=3)
        return True, conn.transport_cls if isinstance(conn.transport_cls, str) else "connected"


def heartbeat_ages(now=None) -> dict[str, float | None]:
    """queue -> seconds since a worker of it last ran the heartbeat (None: never)."""
    now = now or timezone.now()
    queues = [
        name.removeprefix(HEARTBEAT_PREFIX)
        for name in PeriodicTask.objects.filter(
            name__startswith=HEARTBEAT_PREFIX, enabled=True
        ).values_list("name", flat=True)
    ]
    beats = {
        b.component.removeprefix("worker:"): b.beat_at
        for b in Heartbeat.objects.filter(component__startswith="worker:")
    }
    return {
        queue: (now - beats[queue]).total_seconds() if queue in beats else None
        for queue in sorted(queues)
    }


def beat_age(now=None) -> float | None:
    """Seconds since beat last sent a heartbeat task (it records last_run_at on the rows)."""
    now = now or timezone.now()
    last = (
        PeriodicTask.objects.filter(name__startswith=HEARTBEAT_PREFIX, last_run_at__isnull=False)
        .order_by("-last_run_at")
        .values_list("last_run_at", flat=True)
        .first()
    )
    return None if last is None else (now - last).total_seconds()


def _check_worker() -> tuple[bool, str]:
    ages = heartbeat_ages()
    if not ages:
        return False, "no heartbeat schedule (run manage.py setup_monitoring_schedules)"
    limit = float(setting("MONITORING_WORKER_HEARTBEAT_MAX_AGE_SECONDS"))
    late = [q for q, age in ages.items() if age is None or age > limit]
    detail = ", ".join(f"{q}: {'never' if a is None else f'{a:.0f}s ago'}" for q, a in ages.items())
    return not late, detail


def _check_beat() -> tuple[bool, str]:
    age = beat_age()
    if age is None:
        return False, "beat has not sent a heartbeat yet"
    limit = float(setting("MONITORING_BEAT_HEARTBEAT_MAX_AGE_SECONDS"))
    return age <= limit, f"last sent {age:.0f}s ago"


_RUNNERS = {
    "database": _check_database,
    "cache": _check_cache,
    "broker": _check_broker,
    "worker": _check_worker,
    "beat": _check_beat,
}


def _required(request: HttpRequest) -> set[str]:
    wanted = request.GET.get("require")
    if wanted == "all":
        return set(CHECKS)
    names = wanted.split(",") if wanted else setting_list("MONITORING_READYZ_REQUIRED")
    return {n.strip() for n in names if n.strip() in CHECKS}


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    required = _required(request)
    checks = {}
    for name in CHECKS:
        started = time.monotonic()
        try:
            ok, detail = _RUNNERS[name]()
        except Exception as exc:  # any failure is "not ready"; the class only (no secrets)
            ok, detail = False, f"failed: {type(exc).__name__}"
        checks[name] = {
            "ok": ok,
            "required": name in required,
            "detail": detail,
            "ms": round((time.monotonic() - started) * 1000, 1),
        }
    failed_required = [n for n, c in checks.items() if c["required"] and not c["ok"]]
    if failed_required:
        status = "unavailable"
    elif all(c["ok"] for c in checks.values()):
        status = "ok"
    else:
        status = "degraded"
    return JsonResponse(
        {"status": status, "checks": checks}, status=503 if failed_required else 200
    )


def _has_metrics_token(request: HttpRequest) -> bool:
    token = str(setting("MONITORING_METRICS_TOKEN") or "")
    header = request.headers.get("Authorization", "")
    if not (token and header.startswith("Bearer ")):
        return False
    return hmac.compare_digest(header.removeprefix("Bearer ").strip(), token)


def _address_allowed(request: HttpRequest) -> bool:
    # A proxy we were not told about (NUM_PROXIES=0) connects from its own address, often
    # 127.0.0.1: its requests must not pass as local. Behind configured proxies the address is
    # the one our proxy saw (apps/core/net.py).
    if came_through_untrusted_proxy(request):
        return False
    try:
        address = ipaddress.ip_address(client_address(request))
    except ValueError:
        return False
    for network in setting_list("MONITORING_METRICS_ALLOWED_IPS"):
        try:
            if address in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    with_token = _has_metrics_token(request)
    if not (with_token or _address_allowed(request)):
        return HttpResponse(
            "Metrics need 'Authorization: Bearer <MONITORING_METRICS_TOKEN>' or an address in "
            "MONITORING_METRICS_ALLOWED_IPS.\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    from apps.monitoring.metrics import metrics_text

    # Business and connection names only for the token: an allowed address gets ids.
    body, content_type = metrics_text(tenant_names=with_token)
    return HttpResponse(body, content_type=content_type)
