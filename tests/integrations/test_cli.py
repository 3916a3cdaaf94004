import io
import json

import pytest
from django.core.management import CommandError, call_command

from apps.integrations.models import AccountMapping, IntegrationConnection, SyncLog
from tests.loopback import Canned

SECRET = "key-abcdef123456-secret"


def run(*args) -> str:
    out = io.StringIO()
    call_command("integrations", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_setup_provisions_connection_mappings_and_schedules(
    business, provider_key, loopback, tmp_path
):
    creds = tmp_path / "creds.json"
    creds.write_text(json.dumps({"api_key": SECRET}))
    out = run(
        "setup",
        "--business", business.slug,
        "--provider", provider_key,
        "--name", "Routing",
        "--credentials-file", str(creds),
        "--base-url", loopback.url,
        "--environment", "production",
        "--setting", "region=us",
        "--map", "revenue:HVAC service revenue=4000:Service Revenue - HVAC",
        "--map", "deposit:card=35",
        "--schedule", "customers=15",
        "--schedule", "invoices=0 2 * * *",
    )  # fmt: skip
    conn = IntegrationConnection.objects.get(business=business, name="Routing")
    assert conn.credentials == {"api_key": SECRET} and conn.api_base_url == loopback.url
    assert conn.environment == "production" and conn.settings == {"region": "us"}
    hvac = AccountMapping.objects.get(connection=conn, kind="revenue")
    assert (hvac.local_key, hvac.remote_id, hvac.remote_name) == (
        "HVAC service revenue",
        "4000",
        "Service Revenue - HVAC",
    )
    assert AccountMapping.objects.get(connection=conn, kind="deposit").remote_id == "35"
    assert "Created connection" in out and SECRET not in out and "••••cret" in out

    shown = json.loads(run("show", str(conn.pk), "--json"))
    assert [s["name"] for s in shown["schedules"]] == [
        f"integration:{conn.pk}:customers",
        f"integration:{conn.pk}:invoices",
    ]
    assert shown["credentials"] == {"api_key": "••••cret"}

    listed = json.loads(run("list", "--business", business.slug, "--json"))
    assert [row["name"] for row in listed] == ["Routing"]

    run(
        "setup", "--business", business.slug, "--provider", provider_key, "--name", "Routing"
    )  # idempotent
    assert IntegrationConnection.objects.filter(name="Routing").count() == 1


def test_test_and_sync_commands_report_and_exit_nonzero_on_failure(connection, loopback):
    loopback.queue("/ping", Canned(body={"account": "Acme"}))
    assert "OK: Connected to Acme" in run("test", str(connection.pk))

    loopback.queue("/ping", Canned(status=401))
    with pytest.raises(CommandError, match="Connection test failed"):
        run("test", str(connection.pk))

    connection.refresh_from_db()
    connection.status = "connected"
    connection.save()
    loopback.queue(
        "/customers", Canned(body={"records": [{"id": 1}, {"id": 2, "error": "Duplicate name"}]})
    )
    out = run("sync", str(connection.pk), "--resources", "customers", "--wait")
    assert (
        "customers: partial processed=2 succeeded=1 failed=1" in out and "2: Duplicate name" in out
    )

    loopback.queue("/invoices", Canned(status=400, body={"error": "bad"}))
    with pytest.raises(CommandError, match="Sync failed"):
        run("sync", str(connection.pk), "--resources", "invoices", "--wait")


def test_sync_without_wait_queues(connection, loopback):
    out = run("sync", str(connection.pk), "--resources", "customers")
    assert "Queued sync" in out and SyncLog.objects.filter(connection=connection).count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "999999"], "No integration connection with id 999999"),
        (["show", "abc"], "No integration connection with id abc"),
        (
            ["setup", "--business", "nope", "--provider", "xero", "--name", "x"],
            "No business with slug 'nope'",
        ),
        (
            ["setup", "--business", "acme-hvac", "--provider", "nope", "--name", "x"],
            "Unknown provider",
        ),
        (
            [
                "setup",
                "--business",
                "acme-hvac",
                "--provider",
                "xero",
                "--name",
                "x",
                "--credential",
                "novalue",
            ],
            "KEY=VALUE",
        ),
        (
            [
                "setup",
                "--business",
                "acme-hvac",
                "--provider",
                "xero",
                "--name",
                "x",
                "--map",
                "revenue:x",
            ],
            "--map expects",
        ),
        (
            [
                "setup",
                "--business",
                "acme-hvac",
                "--provider",
                "xero",
                "--name",
                "x",
                "--credentials-file",
                "/nonexistent",
            ],
            "Cannot read",
        ),
    ],
)
def test_bad_input_is_a_clear_error(business, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert not IntegrationConnection.objects.filter(name="x").exists()  # nothing half-created


def test_test_and_sync_answer_json_for_scripts(connection, loopback):
    loopback.queue("/ping", Canned(body={"account": "Acme"}), Canned(status=401))
    ok = json.loads(run("test", str(connection.pk), "--json"))
    assert ok == {
        "id": connection.pk,
        "ok": True,
        "message": "Connected to Acme",
        "account_name": "",
        "status": "connected",
    }
    out = io.StringIO()
    with pytest.raises(CommandError, match="Connection test failed") as refused:
        call_command("integrations", "test", str(connection.pk), "--json", stdout=out)
    assert refused.value.returncode == 1 and json.loads(out.getvalue())["ok"] is False

    connection.refresh_from_db()
    connection.status = "connected"
    connection.save()
    loopback.queue("/customers", Canned(body={"records": [{"id": 1}, {"id": 2, "error": "Dup"}]}))
    data = json.loads(
        run("sync", str(connection.pk), "--resources", "customers", "--wait", "--json")
    )
    [customers] = data["runs"]
    assert data["ok"] is True and customers["status"] == "partial"
    assert customers["reports"] == [
        {"severity": "error", "record_type": "customers", "record": "2", "message": "Dup"}
    ]
    queued = json.loads(run("sync", str(connection.pk), "--resources", "customers", "--json"))
    assert [r["status"] for r in queued["runs"]] == ["queued"]
