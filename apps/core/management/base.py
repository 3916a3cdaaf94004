"""The base of our management commands that use the database (the CLI, the demo, benchmarks).

A command run against a database that is not there or not migrated must say so in one line on
stderr and exit 1, not print a traceback that ends in "no such table: core_business". The check
runs in execute(), so call_command() and the command line both get it, before handle() starts
any server, thread or scratch database.
"""

from __future__ import annotations

import psycopg
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db import OperationalError as DjangoOperationalError
from django.db.migrations.executor import MigrationExecutor


def _describe(alias: str) -> str:
    """Which database, without the password: "sqlite /path/db.sqlite3", "postgresql db at h:p"."""
    settings = connections[alias].settings_dict
    vendor = connections[alias].vendor
    if vendor == "sqlite":
        return f"sqlite {settings['NAME']}"
    where = ":".join(str(p) for p in (settings.get("HOST"), settings.get("PORT")) if p)
    return f"{vendor} {settings['NAME']}" + (f" at {where}" if where else "")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def database_migrated_or_error(*, alias: str = DEFAULT_DB_ALIAS) -> None:
    """Raise CommandError (one line) unless the database answers and has every migration."""
    try:
        executor = MigrationExecutor(connections[alias])
        pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    except DjangoOperationalError as exc:
        raise CommandError(
            f"Cannot reach the database ({_describe(alias)}): {_first_line(exc)}"
        ) from exc
    if pending:
        raise CommandError(
            f"The database ({_describe(alias)}) is not migrated: {len(pending)} migration(s) "
            "pending. Run `python manage.py migrate` first."
        )


class DatabaseCommand(BaseCommand):
    """A command that needs the configured database.

    needs_migrated_database: True when the command reads or writes the configured database's
    tables; False for a command that only needs the server (benchmarks that create their own
    scratch database) or no database at all. Either way, a database that stops answering during
    the run ends the command with one line instead of a traceback.
    """

    needs_migrated_database = True

    def execute(self, *args, **options):
        if self.needs_migrated_database:
            database_migrated_or_error(alias=options.get("database") or DEFAULT_DB_ALIAS)
        try:
            return super().execute(*args, **options)
        except (DjangoOperationalError, psycopg.OperationalError) as exc:
            # Connection-level failures only (refused, dropped, database missing); integrity
            # and programming errors are bugs and keep their traceback.
            raise CommandError(f"Database error: {_first_line(exc)}") from exc
