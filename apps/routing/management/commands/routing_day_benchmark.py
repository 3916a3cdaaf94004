"""A realistic day end to end: plan 40 technicians and 400 jobs, then re-plan for emergencies.

    python manage.py routing_day_benchmark [--json] [--technicians 40 --jobs 400 --emergencies 5]

Everything runs through the product's services (load from the database, travel times, solver,
independent checks, storage, apply) inside a transaction that is rolled back at the end, so the
database is left as it was. The clock is simulated: the plan is made at 06:00, the emergencies
arrive from 10:30 on, and jobs before then are walked through their real status changes.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import time
import zoneinfo

from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from apps.core.management.base import DatabaseCommand
from apps.core.models import Business
from apps.routing.checks import plan_violations
from apps.routing.daygen import advance_to, generate_day
from apps.routing.models import RoutePlan
from apps.routing.services.plans import route_plan_apply, route_plan_create


class Rollback(Exception):
    pass


class Command(DatabaseCommand):
    help = "Plan a generated day (40 technicians, 400 jobs) and re-plan for emergencies."

    def add_arguments(self, parser):
        parser.add_argument("--technicians", type=int, default=40)
        parser.add_argument("--jobs", type=int, default=400)
        parser.add_argument("--emergencies", type=int, default=5)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument("--plan-seconds", type=float, default=10.0)
        parser.add_argument("--replan-seconds", type=float, default=None)
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **options):
        if options["technicians"] < 1 or options["jobs"] < 1 or options["emergencies"] < 0:
            raise CommandError("Technicians and jobs must be positive, emergencies not negative.")
        report: dict = {}
        try:
            with transaction.atomic():
                report = self._run(options)
                raise Rollback
        except Rollback:
            pass
        if options["json"]:
            self.stdout.write(json.dumps(report))
        else:
            self._print(report)

    def _run(self, options) -> dict:
        tz = zoneinfo.ZoneInfo("America/Denver")
        date = timezone.now().astimezone(tz).date() + dt.timedelta(days=1)
        business = Business.objects.create(
            name="Routing benchmark", slug=f"routing-bench-{time.time_ns()}", timezone=str(tz)
        )
        day = generate_day(
            business=business,
            date=date,
            technicians=options["technicians"],
            jobs=options["jobs"],
            seed=options["seed"],
        )
        morning = dt.datetime.combine(date, dt.time(6, 0)).replace(tzinfo=tz)
        started = time.perf_counter()
        plan = route_plan_create(
            business=business, date=date, now=morning, time_limit=options["plan_seconds"]
        )
        plan_seconds = time.perf_counter() - started
        violations = plan_violations(plan)
        # An unattended run: the dispatcher's confirmation of jobs going back to the queue is
        # given up front.
        route_plan_apply(plan=plan, by=None, now=morning, confirm=True)
        report = {
            "technicians": options["technicians"],
            "jobs": options["jobs"],
            "plan_seconds": round(plan_seconds, 2),
            "plan": _kpis(plan),
            "plan_violations": len(violations),
            "replans": [],
        }
        clock = dt.datetime.combine(date, dt.time(10, 30)).replace(tzinfo=tz)
        current = plan
        for n in range(options["emergencies"]):
            advance_to(current, clock)
            emergency = day.emergency(number=f"EMERG{n + 1}")
            started = time.perf_counter()
            replan = route_plan_create(
                business=business,
                date=date,
                now=clock,
                time_limit=options["replan_seconds"],
                trigger=f"emergency {emergency.number}",
            )
            seconds = time.perf_counter() - started
            stop = replan.stops.filter(work_order=emergency).first()
            first = None
            if stop is not None:
                ahead = replan.stops.filter(
                    technician=stop.technician, sequence__lt=stop.sequence, fixed=False
                )
                first = not ahead.exists()
            report["replans"].append(
                {
                    "at": clock.strftime("%H:%M"),
                    "seconds": round(seconds, 3),
                    "solver_seconds": replan.kpis["solver_seconds"],
                    "emergency_planned": stop is not None,
                    "emergency_next_stop": first,
                    "emergency_eta_minutes": round((stop.eta - clock).total_seconds() / 60)
                    if stop
                    else None,
                    "violations": len(plan_violations(replan)),
                    "violation_texts": plan_violations(replan)[:4],
                    "unassigned": replan.kpis["unassigned"],
                    "kept": replan.kpis.get("kept", 0),
                    "windows_missed": replan.kpis.get("windows_missed", 0),
                }
            )
            route_plan_apply(plan=replan, by=None, now=clock, confirm=True)
            current = replan
            clock += dt.timedelta(minutes=20)
        times = [r["seconds"] for r in report["replans"]]
        if times:
            report["replan_seconds_mean"] = round(statistics.mean(times), 3)
            report["replan_seconds_max"] = round(max(times), 3)
        report["applied_plans"] = RoutePlan.objects.filter(business=business).count()
        return report

    def _print(self, report: dict) -> None:
        out = self.stdout.write
        p = report["plan"]
        out(f"Day: {report['technicians']} technicians, {report['jobs']} jobs")
        out(
            f"Plan: {report['plan_seconds']:.2f} s; planned {p['planned']}, unassigned "
            f"{p['unassigned']} {p['unassigned_by_reason']}; drive {p['drive_minutes']} min "
            f"({p['drive_minutes'] / max(1, p['technicians_used']):.0f} per technician), "
            f"{p['distance_km']} km; overtime {p['overtime_minutes']} min; "
            f"late stops {p['late_stops']}; checker violations {report['plan_violations']}"
        )
        for r in report["replans"]:
            out(
                f"Re-plan at {r['at']}: {r['seconds']:.2f} s (solver {r['solver_seconds']:.2f} s); "
                f"emergency planned={r['emergency_planned']} next stop={r['emergency_next_stop']} "
                f"ETA +{r['emergency_eta_minutes']} min; unassigned {r['unassigned']}; "
                f"violations {r['violations']}"
            )
        if "replan_seconds_mean" in report:
            out(
                f"Re-plan time: mean {report['replan_seconds_mean']:.2f} s, "
                f"max {report['replan_seconds_max']:.2f} s"
            )


def _kpis(plan: RoutePlan) -> dict:
    keys = (
        "planned",
        "unassigned",
        "unassigned_by_reason",
        "drive_minutes",
        "distance_km",
        "overtime_minutes",
        "late_stops",
        "kept",
        "technicians_used",
        "lunches_skipped",
        "solver_seconds",
    )
    return {k: plan.kpis.get(k) for k in keys}
