"""Operator CLI mirroring the vendors' setup scripts.

  manage.py integrations list [--business SLUG] [--json]
  manage.py integrations show ID [--json]
  manage.py integrations describe [PROVIDER] [--json | --markdown]
  manage.py integrations setup --business SLUG --provider quickbooks --name "Books" \\
      [--credentials-file creds.json | --credential KEY=VALUE ...] [--setting KEY=VALUE ...] \\
      [--environment sandbox|production] [--base-url URL] [--external-account-id ID] \\
      [--map KIND:LOCAL_KEY=REMOTE_ID[:REMOTE_NAME] ...] [--schedule RESOURCE=MINUTES|"CRON" ...] \\
      [--default-schedules] [--json]
  manage.py integrations test ID [--json]
  manage.py integrations sync ID [--resources a,b] [--since YYYY-MM-DD] [--wait] [--json]

`describe` lists the credential keys and settings a provider takes (from its declarations).
`sync --since` first backfills: records made on or after the date that the connection does not
hold yet (invoices, payments and their refunds for accounting) are owed to it, then synced.

Exit status: 0 on success; 1 on a refused request (unknown key, bad value, unknown id) or a failed
test or sync, with the reason on stderr; 2 on bad usage. Credentials are printed masked.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from django.core.management.base import CommandError
from django.db import transaction

from apps.core.errors import DomainError
from apps.core.management.base import DatabaseCommand
from apps.core.models import Business
from apps.integrations import services
from apps.integrations.models import IntegrationConnection, ReportSeverity, SyncLog
from apps.integrations.providers import provider_class_for, registered_providers
from apps.integrations.reference import (
    provider_markdown,
    provider_reference,
    reference_markdown,
    setup_epilog,
)


def _pairs(values: list[str] | None, flag: str) -> dict[str, str]:
    result = {}
    for item in values or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CommandError(f"{flag} expects KEY=VALUE, got '{item}'.")
        result[key.strip()] = value
    return result


def _connection(pk: str) -> IntegrationConnection:
    try:
        return IntegrationConnection.objects.select_related("business").get(pk=int(pk))
    except (ValueError, IntegrationConnection.DoesNotExist):
        raise CommandError(f"No integration connection with id {pk}.") from None


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got '{text}'") from None


def _describe(c: IntegrationConnection) -> dict:
    return {
        "id": c.pk,
        "business": c.business.slug,
        "provider": c.provider,
        "name": c.name,
        "environment": c.environment,
        "status": c.status,
        "api_base_url": c.api_base_url,
        "external_account_id": c.external_account_id,
        "sync_enabled": c.sync_enabled,
        "last_sync_at": c.last_sync_at.isoformat() if c.last_sync_at else None,
        "last_error": c.last_error,
        "credentials": c.masked_credentials,
        "settings": c.settings,
        "account_mappings": [
            {
                "kind": m.kind,
                "local_key": m.local_key,
                "remote_id": m.remote_id,
                "remote_name": m.remote_name,
            }
            for m in c.account_mappings.order_by("kind", "local_key")
        ],
        "schedules": [
            {"name": t.name, "schedule": str(t.interval or t.crontab), "enabled": t.enabled}
            for t in services.connection_schedules(c).select_related("interval", "crontab")
        ],
    }


def _run(log: SyncLog) -> dict:
    return {
        "id": log.pk,
        "resource": log.sync_type,
        "status": log.status,
        "processed": log.processed,
        "succeeded": log.succeeded,
        "failed": log.failed,
        "warnings": log.warnings,
        "message": log.message,
        "next_attempt_at": log.next_attempt_at.isoformat() if log.next_attempt_at else None,
        "reports": [
            {
                "severity": e.severity,
                "record_type": e.record_type,
                "record": e.record_label or e.record_id,
                "message": e.message,
            }
            for e in log.record_errors.order_by("pk")
        ],
    }


class Command(DatabaseCommand):
    help = "List, describe, provision, test and sync integration connections."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        p = sub.add_parser("list", help="Connections, one per line")
        p.add_argument("--business", help="Business slug")
        p.add_argument("--json", action="store_true")
        p = sub.add_parser("show", help="One connection, credentials masked")
        p.add_argument("id")
        p.add_argument("--json", action="store_true")
        p = sub.add_parser(
            "describe", help="The credential keys, settings and schedules a provider takes"
        )
        p.add_argument("provider", nargs="?", help="Provider key; all when omitted")
        fmt = p.add_mutually_exclusive_group()
        fmt.add_argument("--json", action="store_true")
        fmt.add_argument(
            "--markdown", action="store_true", help="As docs/integrations-reference.md"
        )
        p = sub.add_parser(
            "setup",
            help="Create or update a connection, its mappings and schedules",
            epilog=setup_epilog(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.add_argument("--business", required=True, help="Business slug")
        p.add_argument("--provider", required=True)
        p.add_argument("--name", required=True)
        p.add_argument(
            "--credentials-file",
            help="JSON object of credentials, keys as `describe PROVIDER` lists ('-' reads stdin)",
        )
        p.add_argument(
            "--credential",
            action="append",
            help="KEY=VALUE (prefer --credentials-file: argv is visible to ps)",
        )
        p.add_argument(
            "--setting", action="append", help="KEY=VALUE, typed per provider; KEY= resets it"
        )
        p.add_argument("--environment", choices=["sandbox", "production"])
        p.add_argument(
            "--base-url",
            help="API base URL override (sandbox, gateway, loopback server); QuickBooks: with "
            "or without /v3",
        )
        p.add_argument("--external-account-id", help="QuickBooks realm id, Xero tenant id, ...")
        p.add_argument("--map", action="append", help="KIND:LOCAL_KEY=REMOTE_ID[:REMOTE_NAME]")
        p.add_argument(
            "--schedule", action="append", help="RESOURCE=MINUTES or RESOURCE='m h dom mon dow'"
        )
        p.add_argument(
            "--default-schedules",
            action="store_true",
            help="Also add the provider's default schedules the connection lacks (a new "
            "connection always gets them)",
        )
        p.add_argument("--json", action="store_true")
        p = sub.add_parser("test", help="Check the credentials against the vendor")
        p.add_argument("id")
        p.add_argument("--json", action="store_true")
        p = sub.add_parser("sync", help="Queue (or with --wait, run now) a sync")
        p.add_argument("id")
        p.add_argument("--resources", help="Comma-separated; default: all the provider syncs")
        p.add_argument(
            "--since",
            type=_date,
            help="Backfill first: owe the connection what was made on or after YYYY-MM-DD "
            "(default resources: those the provider backfills, e.g. invoices,payments)",
        )
        p.add_argument(
            "--wait", action="store_true", help="Run in this process and report the result"
        )
        p.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        try:
            getattr(self, f"do_{options['action']}")(options)
        except DomainError as exc:
            raise CommandError(exc.message) from None

    def _json(self, data) -> None:
        self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str))

    def do_list(self, options):
        qs = IntegrationConnection.objects.select_related("business").order_by(
            "business__slug", "provider", "name"
        )
        if options.get("business"):
            qs = qs.filter(business__slug=options["business"])
        rows = [
            {
                "id": c.pk,
                "business": c.business.slug,
                "provider": c.provider,
                "name": c.name,
                "status": c.status,
            }
            for c in qs
        ]
        if options["json"]:
            return self._json(rows)
        for r in rows:
            self.stdout.write(
                f"{r['id']:>5}  {r['business']:<24} {r['provider']:<12} {r['status']:<16} {r['name']}"
            )
        if not rows:
            self.stdout.write("No connections.")

    def do_show(self, options):
        data = _describe(_connection(options["id"]))
        if options["json"]:
            return self._json(data)
        for key, value in data.items():
            self.stdout.write(
                f"{key:>20}: {json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value}"
            )

    def do_describe(self, options):
        if options.get("provider"):
            cls = provider_class_for(options["provider"])
            if cls is None:
                known = ", ".join(c.key for c in registered_providers())
                raise CommandError(
                    f"No adapter for provider '{options['provider']}'. Installed: {known}."
                )
            classes = [cls]
        else:
            classes = registered_providers()
        if options["json"]:
            return self._json([provider_reference(cls) for cls in classes])
        if options["markdown"] and not options.get("provider"):
            return self.stdout.write(reference_markdown(), ending="")
        self.stdout.write("\n".join(provider_markdown(cls) for cls in classes), ending="")

    def _credentials(self, options) -> dict:
        credentials = _pairs(options.get("credential"), "--credential")
        source = options.get("credentials_file")
        if source:
            try:
                text = sys.stdin.read() if source == "-" else Path(source).read_text()
                loaded = json.loads(text)
            except (OSError, json.JSONDecodeError) as exc:
                raise CommandError(f"Cannot read credentials from {source}: {exc}") from None
            if not isinstance(loaded, dict):
                raise CommandError("The credentials file must hold a JSON object.")
            credentials = {**loaded, **credentials}
        return credentials

    @transaction.atomic  # all or nothing: a bad --map or --schedule leaves no half-made connection
    def do_setup(self, options):
        business = Business.objects.filter(slug=options["business"]).first()
        if business is None:
            raise CommandError(f"No business with slug '{options['business']}'.")
        settings = {
            key: (value if value != "" else None)
            for key, value in _pairs(options.get("setting"), "--setting").items()
        }
        connection, created = services.connection_upsert(
            business=business,
            provider=options["provider"],
            name=options["name"],
            credentials=self._credentials(options),
            settings=settings,
            environment=options.get("environment"),
            api_base_url=options.get("base_url"),
            external_account_id=options.get("external_account_id"),
        )
        for item in options.get("map") or []:
            kind, _, rest = item.partition(":")
            local_key, sep, remote = rest.partition("=")
            if not sep or not kind or not local_key or not remote:
                raise CommandError(
                    f"--map expects KIND:LOCAL_KEY=REMOTE_ID[:REMOTE_NAME], got '{item}'."
                )
            remote_id, _, remote_name = remote.partition(":")
            services.account_mapping_set(
                connection=connection,
                kind=kind,
                local_key=local_key,
                remote_id=remote_id,
                remote_name=remote_name,
            )
        for resource, when in _pairs(options.get("schedule"), "--schedule").items():
            if when.strip().isdigit():
                services.connection_schedule_set(
                    connection=connection, resource=resource, every_minutes=int(when)
                )
            else:
                services.connection_schedule_set(
                    connection=connection, resource=resource, crontab=when
                )
        if options.get("default_schedules"):
            services.connection_defaults_ensure(connection=connection)
        if options["json"]:
            return self._json({"created": created, "connection": _describe(connection)})
        verb = "Created" if created else "Updated"
        self.stdout.write(self.style.SUCCESS(f"{verb} connection {connection.pk}: {connection}"))
        self.stdout.write(json.dumps(_describe(connection), indent=2, ensure_ascii=False))

    def do_test(self, options):
        connection = _connection(options["id"])
        check = services.connection_test(connection=connection)
        if options["json"]:
            self._json(
                {
                    "id": connection.pk,
                    "ok": check.ok,
                    "message": check.message,
                    "account_name": check.account_name,
                    "status": connection.status,
                }
            )
        if not check.ok:
            raise CommandError(f"Connection test failed: {check.message}")
        if not options["json"]:
            self.stdout.write(self.style.SUCCESS(f"OK: {check.message}"))

    def do_sync(self, options):
        connection = _connection(options["id"])
        as_json = options["json"]
        resources = [
            r.strip() for r in (options.get("resources") or "").split(",") if r.strip()
        ] or None
        backfill = []
        if options.get("since"):
            cls = provider_class_for(connection.provider)
            resources = resources or list(getattr(cls, "backfill_resources", ()) or ()) or None
            backfill = services.connection_backfill(
                connection=connection, since=options["since"], resources=resources
            )
            if not as_json:
                for line in backfill:
                    self.stdout.write(f"Backfill: {line}")
        logs = services.sync_request(
            connection=connection, resources=resources, enqueue=not options["wait"]
        )
        if not options["wait"]:
            if as_json:
                return self._json(
                    {"id": connection.pk, "backfill": backfill, "runs": [_run(g) for g in logs]}
                )
            for log in logs:
                self.stdout.write(
                    f"Queued sync {log.pk}: {log.sync_type} ({log.get_direction_display()})"
                )
            return None
        failed, runs = False, []
        for log in logs:
            try:
                # One attempt: a temporary error fails this log with its reason (no retry is
                # queued behind the operator's back); run the command again later.
                log = services.connection_sync(sync_log_id=log.pk)
            except Exception as exc:  # the log is failed already; say why and go on
                log.refresh_from_db()
                if not as_json:
                    self.stderr.write(f"{log.sync_type}: {type(exc).__name__}: {log.message}")
            failed |= log.status == SyncLog.Status.FAILED
            runs.append(_run(log))
            if as_json:
                continue
            self.stdout.write(
                f"{log.sync_type}: {log.status} processed={log.processed} "
                f"succeeded={log.succeeded} failed={log.failed} warnings={log.warnings} "
                f"{log.message}".rstrip()
            )
            for err in log.record_errors.order_by("pk"):
                mark = "" if err.severity == ReportSeverity.ERROR else f"({err.severity}) "
                self.stdout.write(f"  {mark}{err.record_label or err.record_id}: {err.message}")
        if as_json:
            self._json({"id": connection.pk, "ok": not failed, "backfill": backfill, "runs": runs})
        if failed:
            raise CommandError("Sync failed.")
