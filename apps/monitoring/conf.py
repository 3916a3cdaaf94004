"""Monitoring's deployment settings: Django settings first, then the environment, then the default.

Thresholds a manager may change (stale, degraded, healthy, reminders) are per business, in
MonitoringSettings; what follows is for operators.
"""

from __future__ import annotations

from django.conf import settings

from thorbis.env import env_setting

DEFAULTS: dict[str, object] = {
    # Bearer token for /metrics. Empty: only the allow-list below may scrape.
    "MONITORING_METRICS_TOKEN": "",
    # Comma-separated addresses or networks that may scrape /metrics without the token.
    "MONITORING_METRICS_ALLOWED_IPS": "127.0.0.1/32,::1/128",
    # Readiness: which checks fail /readyz with 503 (the others only report).
    "MONITORING_READYZ_REQUIRED": "database,cache,broker",
    # A worker or beat heartbeat older than this counts as down.
    "MONITORING_WORKER_HEARTBEAT_MAX_AGE_SECONDS": 300,
    # Beat writes its last run times every 3 minutes, so allow one missed write.
    "MONITORING_BEAT_HEARTBEAT_MAX_AGE_SECONDS": 600,
    # Retention of IntegrationActivity rows, and of the hourly rollups built from them.
    "MONITORING_ACTIVITY_RETENTION_DAYS": 90,
    "MONITORING_ROLLUP_RETENTION_DAYS": 400,
    "MONITORING_RETENTION_BATCH_SIZE": 500,
    # Pause between deletion batches, so inserts and other queries interleave.
    "MONITORING_RETENTION_PAUSE_SECONDS": 0.05,
    # Closed hours recomputed by every rollup run (rows committed late land in them).
    "MONITORING_ROLLUP_LOOKBACK_HOURS": 2,
    # OAuth: refresh when the refresh token lapses within this many hours...
    "MONITORING_TOKEN_REFRESH_AHEAD_HOURS": 168,
    # ...or, when its expiry is unknown, when the last refresh is older than this many hours.
    "MONITORING_TOKEN_IDLE_REFRESH_HOURS": 168,
    # Warn (alert) when a refresh fails and the refresh token lapses within this many hours.
    "MONITORING_TOKEN_EXPIRY_WARNING_HOURS": 48,
    # Sender of alert and report emails (empty: DEFAULT_FROM_EMAIL).
    "MONITORING_FROM_EMAIL": "",
}


def setting(name: str):
    if hasattr(settings, name):
        return getattr(settings, name)
    # Blank counts as unset; a value that is not a number stops with the variable's name.
    return env_setting(name, DEFAULTS[name])


def setting_list(name: str) -> list[str]:
    value = setting(name)
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def from_email() -> str:
    return setting("MONITORING_FROM_EMAIL") or settings.DEFAULT_FROM_EMAIL
