"""The benchmark command end to end (short run) against a live test server."""

import json

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

pytest.importorskip("bumble", reason="the benchmark emulates probes with bumble")


@pytest.mark.django_db(transaction=True)
def test_benchmark_json_through_an_outage(live_server, technician, work_order, capsys):
    token = Token.objects.get_or_create(user=technician.user)[0].key
    call_command(
        "diagnostics_benchmark", "--json", "--seconds", "4", "--probes", "2", "--rate-hz", "4",
        "--outage-start", "1", "--outage-seconds", "1.5",
        "--server", live_server.url, "--token", token, "--work-order", str(work_order.pk),
    )  # fmt: skip
    result = json.loads(capsys.readouterr().out)
    assert set(result) >= {
        "sent",
        "stored",
        "lost",
        "duplicates",
        "upload_lag_p95_s",
        "agent_cpu_pct",
    }
    assert result["sent"] > 0 and result["stored"] == result["sent"]
    assert result["lost"] == 0 and result["duplicates"] == 0
    assert result["upload_lag_p95_s"] > 0


def test_benchmark_refuses_an_outage_longer_than_the_run(db):
    with pytest.raises(CommandError, match="outage must end"):
        call_command(
            "diagnostics_benchmark",
            "--seconds",
            "5",
            "--outage-start",
            "4",
            "--outage-seconds",
            "3",
        )
