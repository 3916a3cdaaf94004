import json
import os
import stat
import subprocess
import sys

import pytest

from thorbis import settings as project_settings


def test_missing_secret_key_is_generated_once_and_kept_private(tmp_path, monkeypatch):
    monkeypatch.setattr(project_settings, "VAR_DIR", tmp_path / "var")
    first = project_settings._machine_secret_key()
    again = project_settings._machine_secret_key()
    key_file = tmp_path / "var" / "secret_key"
    assert first == again and len(first) >= 50
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_two_machines_get_different_keys(tmp_path, monkeypatch):
    monkeypatch.setattr(project_settings, "VAR_DIR", tmp_path / "a")
    a = project_settings._machine_secret_key()
    monkeypatch.setattr(project_settings, "VAR_DIR", tmp_path / "b")
    assert project_settings._machine_secret_key() != a  # never a hard-coded default


# --- Variables set but empty count as unset (thorbis/env.py) ----------------------------------

BLANK = [
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "SECRET_KEY",
    "FIELD_ENCRYPTION_KEYS",
    "FIELD_ENCRYPTION_SALT",
    "ALLOWED_HOSTS",
    "PUBLIC_BASE_URL",
    "CSRF_TRUSTED_ORIGINS",
    "DJANGO_DEBUG",
    "BEHIND_TLS_PROXY",
    "NUM_PROXIES",
    "DB_CONN_MAX_AGE",
    "CELERY_DB_REUSE_MAX",
    "CELERY_TASK_ALWAYS_EAGER",
    "SECURE_HSTS_SECONDS",
    "SESSION_COOKIE_SECURE",
    "INTEGRATIONS_HTTP_READ_TIMEOUT",
    "ROUTING_POLICY",
    "ROUTING_MATRIX_CACHE_SECONDS",
    "LOG_LEVEL",
    "LOG_FORMAT",
    "EMAIL_BACKEND",
    "ANYMAIL_POSTMARK_SERVER_TOKEN",
    "MONITORING_ACTIVITY_RETENTION_DAYS",
    "MONITORING_RETENTION_PAUSE_SECONDS",
    "ACCOUNTING_FLUSH_WORKERS",
]

PROBE = """
import json, django
django.setup()
from django.conf import settings as s
from apps.accounting.conf import setting as accounting
from apps.monitoring.conf import setting as monitoring
print(json.dumps({
    "engine": s.DATABASES["default"]["ENGINE"],
    "db_name": str(s.DATABASES["default"]["NAME"]),
    "broker": s.CELERY_BROKER_URL,
    "cache": s.CACHES["default"]["BACKEND"],
    "secret_key": bool(s.SECRET_KEY),
    "field_keys": len(s.FIELD_ENCRYPTION_KEYS),
    "hosts": s.ALLOWED_HOSTS,
    "debug": s.DEBUG,
    "num_proxies": s.REST_FRAMEWORK["NUM_PROXIES"],
    "conn_max_age": s.CELERY_DB_REUSE_MAX,
    "hsts": s.SECURE_HSTS_SECONDS,
    "routing_policy": s.ROUTING_POLICY,
    "anymail": s.ANYMAIL,
    "retention_days": monitoring("MONITORING_ACTIVITY_RETENTION_DAYS"),
    "pause": monitoring("MONITORING_RETENTION_PAUSE_SECONDS"),
    "flush_workers": accounting("ACCOUNTING_FLUSH_WORKERS"),
}))
"""


def _settings_in_child(overrides: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in BLANK}
    env.update({"DJANGO_SETTINGS_MODULE": "thorbis.settings", **overrides})
    return subprocess.run(  # noqa: S603 - our interpreter, fixed script
        [sys.executable, "-c", PROBE],
        cwd=project_settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_variables_set_but_empty_are_treated_as_unset():
    done = _settings_in_child(dict.fromkeys(BLANK, ""))

    assert done.returncode == 0, done.stderr  # was KeyError: 'ENGINE'
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["engine"] == "django.db.backends.sqlite3"
    assert seen["db_name"].endswith("var/thorbis.sqlite3")
    assert seen["broker"].startswith("filesystem://")  # not "" (which Celery reads as amqp://)
    assert seen["cache"].endswith("LocMemCache")
    assert seen["secret_key"] and seen["field_keys"] == 1
    assert "127.0.0.1" in seen["hosts"]
    assert seen["debug"] is False and seen["num_proxies"] == 0 and seen["hsts"] == 0
    assert seen["conn_max_age"] == 200 and seen["routing_policy"] == {}
    assert seen["anymail"] == {}
    assert seen["retention_days"] == 90 and seen["pause"] == 0.05
    assert seen["flush_workers"] == 4


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("DJANGO_DEBUG", "treu", "DJANGO_DEBUG must be true or false"),
        ("CELERY_DB_REUSE_MAX", "sixty", "CELERY_DB_REUSE_MAX cannot be read as int"),
        ("NUM_PROXIES", "one", "NUM_PROXIES cannot be read as int"),
        ("FIELD_ENCRYPTION_KEYS", ",", "FIELD_ENCRYPTION_KEYS holds no key"),
        ("DATABASE_URL", "not a url", "DATABASE_URL has a scheme we do not know"),
    ],
)
def test_a_malformed_variable_is_refused_by_name(name, value, message):
    done = _settings_in_child({name: value})

    assert done.returncode != 0
    assert f"ImproperlyConfigured: {message}" in done.stderr
    assert value.strip(",") == "" or value not in done.stderr.splitlines()[-1]  # never echoed


def test_app_settings_refuse_a_number_that_is_not_one(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from apps.monitoring.conf import setting

    monkeypatch.setenv("MONITORING_RETENTION_BATCH_SIZE", "lots")
    with pytest.raises(ImproperlyConfigured, match="MONITORING_RETENTION_BATCH_SIZE must be"):
        setting("MONITORING_RETENTION_BATCH_SIZE")
    monkeypatch.setenv("MONITORING_RETENTION_BATCH_SIZE", "  ")
    assert setting("MONITORING_RETENTION_BATCH_SIZE") == 500
