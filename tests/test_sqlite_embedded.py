"""The embedded default (SQLite) is shared by web, worker and beat: two processes that read and
then write in one transaction must wait for each other, not fail with "database is locked"."""

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import os, sys, threading, time
    os.environ.pop("DATABASE_URL", None)
    from thorbis import settings as project
    import django
    from django.conf import settings
    options = project.DATABASES["default"]["OPTIONS"]
    if sys.argv[2] == "deferred":
        options = {k: v for k, v in options.items() if k != "transaction_mode"}
    settings.configure(DATABASES={"default": {
        "ENGINE": "django.db.backends.sqlite3", "NAME": sys.argv[1], "OPTIONS": options}})
    django.setup()
    from django.db import connection, transaction
    with connection.cursor() as c:
        c.execute("CREATE TABLE beats (n integer)")
    errors = []
    def get_or_create(n):
        try:
            with transaction.atomic(), connection.cursor() as c:
                c.execute("SELECT count(*) FROM beats")
                time.sleep(0.3)  # the other one writes meanwhile
                c.execute("INSERT INTO beats VALUES (%s)", [n])
        except Exception as exc:
            errors.append(str(exc))
        finally:
            connection.close()
    threads = [threading.Thread(target=get_or_create, args=(n,)) for n in (1, 2)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    print(errors or "ok")
    """
)


def _run(tmp_path, mode):
    out = subprocess.run(  # noqa: S603  (our own interpreter and script)
        [sys.executable, "-c", SCRIPT, str(tmp_path / f"{mode}.sqlite3"), mode],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_concurrent_read_then_write_transactions_wait_for_each_other(tmp_path):
    assert _run(tmp_path, "immediate") == "ok"


def test_without_immediate_transactions_one_of_them_fails(tmp_path):
    # Shows what the setting prevents (the heartbeat tasks' get_or_create under `make run`).
    assert "database is locked" in _run(tmp_path, "deferred")
