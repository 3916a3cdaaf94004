"""The benchmark command runs end to end on a small PostgreSQL fill (figures are in the docs)."""

import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_benchmark_prints_one_json_object(capsys):
    before = connection.settings_dict["NAME"]
    call_command(
        "monitoring_benchmark",
        "--rows=3000",
        "--businesses=3",
        "--connections=6",
        "--days=100",
        "--repeat=1",
        "--database=thorbis_bench_selftest",
        "--json",
    )
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"rows", "health_ms", "report_ms", "retention_max_insert_stall_ms"}
    assert data["rows"] == 3000
    assert all(isinstance(v, int | float) and v >= 0 for v in data.values())
    assert connection.settings_dict["NAME"] == before  # back on the test database


def test_benchmark_refuses_sqlite_and_bad_options(db, on_postgres):
    if on_postgres:
        with pytest.raises(CommandError, match="--days must exceed 90"):
            call_command("monitoring_benchmark", "--days=30")
    else:
        with pytest.raises(CommandError, match="needs PostgreSQL"):
            call_command("monitoring_benchmark")
