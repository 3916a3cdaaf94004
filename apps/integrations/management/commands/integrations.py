"""Operator CLI mirroring the vendors' setup scripts.

  manage.py integrations list [--business SLUG] [--json]
  manage.py integrations show ID [--json]
  manage.py integrations setup --business SLUG --provider quickbooks --name "Books" \\
      [--credentials-file creds.json | --credential KEY=VALUE ...] [--setting KEY=VALUE ...] \\
      [--environment sandbox|production] [--base-url URL] [--external-account-id ID] \\
      [--map KIND:LOCAL_KEY=REMOTE_ID[:REMOTE_NAME] ...] [--schedule RESOURCE=MINUTES|"CRON" ...]
  manage.py integrations test ID
  manage.py integrations sync ID [--resources a,b] [--wait]

Exit status: 0 on success, 1 on a refused request or failed test/sync (the reason is printed).
Credentials are printed masked, never in full.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import CommandError
from django.db import transaction

from apps.core.errors import DomainError
from apps.core.management.base import DatabaseCommand
from apps.core.models import Business
from apps.integrations import services
from apps.integrations.models import IntegrationConnection, SyncLog


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


class Command(DatabaseCommand):
    help = "List, provision, test and sync integration connections."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        p = sub.add_parser("list", help="Connections, one per line")
        p.add_argument("--business", help="Business slug")
        p.add_argument("--json", action="store_true")
        p = sub.add_parser("show", help="One connection, credentials masked")
        p.add_argument("id")
        p.add_argument("--json", action="store_true")
        p = sub.add_parser(
            "setup", help="Create or update a connection, its mappings and schedules"
        )
        p.add_argument("--business", required=True, help="Business slug")
        p.add_argument("--provider", required=True)
        p.add_argument("--name", required=True)
        p.add_argument("--credentials-file", help="JSON object of credentials ('-' reads stdin)")
        p.add_argument(
            "--credential",
            action="append",
            help="KEY=VALUE (prefer --credentials-file: argv is visible to ps)",
        )
        p.add_argument("--setting", action="append", help="KEY=VALUE")
        p.add_argument("--environment", choices=["sandbox", "production"])
        p.add_argument(
            "--base-url", help="API base URL override (sandbox, gateway, loopback server)"
        )
        p.add_argument("--external-account-id", help="QuickBooks realm id, Xero tenant id, ...")
        p.add_argument("--map", action="append", help="KIND:LOCAL_KEY=REMOTE_ID[:REMOTE_NAME]")
        p.add_argument(
            "--schedule", action="append", help="RESOURCE=MINUTES or RESOURCE='m h dom mon dow'"
        )
        p = sub.add_parser("test", help="Check the credentials against the vendor")
        p.add_argument("id")
        p = sub.add_parser("sync", help="Queue (or with --wait, run now) a sync")
        p.add_argument("id")
        p.add_argument("--resources", help="Comma-separated; default: all the provider syncs")
        p.add_argument(
            "--wait", action="store_true", help="Run in this process and report the result"
        )

    def handle(self, *args, **options):
        try:
            getattr(self, f"do_{options['action']}")(options)
        except DomainError as exc:
            raise CommandError(exc.message) from None

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
            self.stdout.write(json.dumps(rows, indent=2, ensure_ascii=False))
            return
        for r in rows:
            self.stdout.write(
                f"{r['id']:>5}  {r['business']:<24} {r['provider']:<12} {r['status']:<16} {r['name']}"
            )
        if not rows:
            self.stdout.write("No connections.")

    def do_show(self, options):
        data = _describe(_connection(options["id"]))
        if options["json"]:
            self.stdout.write(json.dumps(data, indent=2, ensure_ascii=False))
            return
        for key, value in data.items():
            self.stdout.write(
                f"{key:>20}: {json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value}"
            )

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
        connection, created = services.connection_upsert(
            business=business,
            provider=options["provider"],
            name=options["name"],
            credentials=self._credentials(options),
            settings=_pairs(options.get("setting"), "--setting"),
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
        verb = "Created" if created else "Updated"
        self.stdout.write(self.style.SUCCESS(f"{verb} connection {connection.pk}: {connection}"))
        self.stdout.write(json.dumps(_describe(connection), indent=2, ensure_ascii=False))

    def do_test(self, options):
        connection = _connection(options["id"])
        check = services.connection_test(connection=connection)
        if not check.ok:
            raise CommandError(f"Connection test failed: {check.message}")
        self.stdout.write(self.style.SUCCESS(f"OK: {check.message}"))

    def do_sync(self, options):
        connection = _connection(options["id"])
        resources = [
            r.strip() for r in (options.get("resources") or "").split(",") if r.strip()
        ] or None
        if not options["wait"]:
            logs = services.sync_request(connection=connection, resources=resources)
            for log in logs:
                self.stdout.write(
                    f"Queued sync {log.pk}: {log.sync_type} ({log.get_direction_display()})"
                )
            return
        failed = False
        for resource in services._resources_for(connection, resources):
            log = SyncLog.objects.create(
                business_id=connection.business_id,
                connection=connection,
                sync_type=resource,
                direction=services.provider_class_for(connection.provider).resources[resource],
                trigger=SyncLog.Trigger.MANUAL,
            )
            try:
                log = services.connection_sync(sync_log_id=log.pk)
            except Exception as exc:
                failed = True
                self.stderr.write(f"{resource}: {exc}")
                continue
            failed |= log.status == SyncLog.Status.FAILED
            self.stdout.write(
                f"{resource}: {log.status} processed={log.processed} succeeded={log.succeeded} "
                f"failed={log.failed} {log.message}".rstrip()
            )
            for err in log.record_errors.all():
                self.stdout.write(f"  {err.record_label or err.record_id}: {err.message}")
        if failed:
            raise CommandError("Sync failed.")
