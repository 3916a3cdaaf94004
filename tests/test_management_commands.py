"""Our management commands against a database that is not there yet: one line and exit 1.

The commands run in a child process on the command line's path (ManagementUtility, as
`python manage.py` does), with DATABASE_URL pointing at an empty SQLite file or at a closed port.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import get_commands, load_command_class

from apps.core.management.base import DatabaseCommand, database_migrated_or_error

# Arguments that get each command past its own parser, so the database is what it trips on.
ARGS = {
    "diagnostics_import": ["readings.csv", "--business", "acme", "--work-order", "1"],
    "integrations": ["list"],
    "accounting_benchmark": ["--invoices", "1"],
}
# Commands that never touch the configured database (each says why in its module).
DATABASE_FREE = {"diagnostics_agent"}

RUNNER = textwrap.dedent(
    """
    import contextlib, io, json, sys
    import django
    django.setup()
    from django.core.management import ManagementUtility
    results = {}
    for name, args in json.loads(sys.argv[1]).items():
        err, out = io.StringIO(), io.StringIO()
        code = 0
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            try:
                ManagementUtility(["manage.py", name, *args]).execute()
            except SystemExit as exc:
                code = exc.code
        results[name] = {"code": code, "stderr": err.getvalue(), "stdout": out.getvalue()}
    print(json.dumps(results))
    """
)


def _our_commands() -> dict[str, type]:
    return {
        name: type(load_command_class(app, name))
        for name, app in get_commands().items()
        if app.startswith("apps.")
    }


def _run(commands: dict[str, list[str]], database_url: str, tmp_path: Path) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "thorbis.settings",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "management-commands-test",
        "FIELD_ENCRYPTION_KEYS": "management-commands-test",
        "CELERY_BROKER_URL": "memory://",
        "LOG_FORMAT": "console",
    }
    done = subprocess.run(  # noqa: S603 - our interpreter, fixed script
        [sys.executable, "-c", RUNNER, json.dumps(commands)],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_command_of_ours_that_uses_the_database_has_the_check():
    commands = _our_commands()
    assert len(commands) >= 14
    missing = [
        name
        for name, cls in commands.items()
        if name not in DATABASE_FREE and not issubclass(cls, DatabaseCommand)
    ]
    assert missing == []


def test_on_an_unmigrated_database_every_command_says_so_in_one_line(tmp_path):
    empty = tmp_path / "fresh.sqlite3"
    wanted = {
        name: ARGS.get(name, [])
        for name, cls in _our_commands().items()
        if issubclass(cls, DatabaseCommand) and cls.needs_migrated_database
    }
    assert {"accounting_benchmark", "routing_day_benchmark", "seed_demo"} <= set(wanted)

    results = _run(wanted, f"sqlite:///{empty}", tmp_path)

    for name, result in results.items():
        lines = result["stderr"].splitlines()
        assert result["code"] == 1, (name, result)
        assert len(lines) == 1, (name, result)
        assert re.fullmatch(
            rf"CommandError: The database \(sqlite {re.escape(str(empty))}\) is not migrated: "
            r"\d+ migration\(s\) pending\. Run `python manage.py migrate` first\.",
            lines[0],
        ), (name, result)
        assert "Traceback" not in result["stdout"] + result["stderr"]


def test_an_unreachable_server_is_one_line_too(tmp_path):
    # Port 1 on loopback: nothing listens, the connection is refused at once.
    url = "postgres://thorbis@127.0.0.1:1/thorbis"
    results = _run(
        {"routing_day_benchmark": [], "payments_webhook_benchmark": ["--events", "1"]},
        url,
        tmp_path,
    )

    day, payments = results["routing_day_benchmark"], results["payments_webhook_benchmark"]
    assert day["code"] == 1 and payments["code"] == 1
    assert day["stderr"].startswith(
        "CommandError: Cannot reach the database (postgresql thorbis at 127.0.0.1:1): "
    )
    # The scratch-database benchmark needs only the server, and fails on it in one line.
    assert payments["stderr"].startswith("CommandError: Database error: ")
    for result in results.values():
        assert len(result["stderr"].splitlines()) == 1, result
        assert "Connection refused" in result["stderr"] or "connect" in result["stderr"]


@pytest.mark.django_db
def test_a_migrated_database_passes_the_check():
    database_migrated_or_error()  # the test database: nothing pending, no error
