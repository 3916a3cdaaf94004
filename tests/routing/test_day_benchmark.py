"""The realistic-day benchmark runs end to end (small here) and leaves nothing behind."""

from __future__ import annotations

import json

from django.core.management import call_command

from apps.core.models import Business, WorkOrder
from apps.routing.models import RoutePlan


def test_day_benchmark_reports_plan_and_replan_figures(db, capsys):
    call_command(
        "routing_day_benchmark",
        "--technicians", "4",
        "--jobs", "24",
        "--emergencies", "1",
        "--plan-seconds", "0.5",
        "--replan-seconds", "0.5",
        "--json",
    )  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert report["technicians"] == 4 and report["jobs"] == 24
    assert report["plan"]["planned"] + report["plan"]["unassigned"] == 24
    assert report["plan_violations"] == 0 and report["plan"]["late_stops"] == 0
    (replan,) = report["replans"]
    assert replan["emergency_planned"] and replan["emergency_next_stop"]
    assert replan["violations"] == 0 and replan["seconds"] > 0
    assert report["replan_seconds_max"] == replan["seconds"]
    # Everything was rolled back.
    assert not Business.objects.exists() and not WorkOrder.objects.exists()
    assert not RoutePlan.objects.exists()


def test_day_benchmark_refuses_nonsense(db):
    import pytest
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="positive"):
        call_command("routing_day_benchmark", "--technicians", "0")
