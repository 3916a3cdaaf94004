"""Solve Solomon VRPTW instances through the product's solver and report distance and time.

    python manage.py routing_benchmark ../shared/bench/solomon/*.txt --time-limit 10 --json

One JSON object per instance and line; every solution is verified by the independent checker
before it is printed. Without --json a table, with the gap to the best-known distance when a
BKS csv (instance,vehicles,distance) is given or sits next to the instances.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

from django.core.management.base import CommandError

from apps.core.management.base import DatabaseCommand
from apps.routing.solver import check, solomon, solve

BKS_NAME = "BKS_distance_only_trunc1.csv"
# Kept back from the budget for checking and printing, so "seconds" stays within the limit.
MARGIN = 0.05


class Command(DatabaseCommand):
    help = "Solve Solomon VRPTW files with the routing engine (distance-only objective)."
    # Solomon files in, solver out: no table is read or written.
    needs_migrated_database = False

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="+", help="Solomon-format instance files")
        parser.add_argument(
            "--time-limit", type=float, default=10.0, help="seconds per instance (default 10)"
        )
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--json", action="store_true", help="one JSON object per line")
        parser.add_argument(
            "--bks", help=f"best-known csv for the gap column (default: {BKS_NAME} beside files)"
        )

    def handle(self, *args, **options):
        limit = options["time_limit"]
        if not limit > 0:
            raise CommandError("--time-limit must be a positive number of seconds.")
        # Read everything first: a bad file fails the run before any solving time is spent.
        instances = []
        for name in options["files"]:
            try:
                instances.append(solomon.read(name))
            except solomon.SolomonFormatError as exc:
                raise CommandError(str(exc)) from exc
        bks = self._best_known(options["bks"], options["files"])
        rows, failures = [], []
        for instance in instances:
            row, problems = self._solve(instance, limit, options["seed"])
            rows.append(row)
            if problems:
                failures.append(f"{instance.name}: " + "; ".join(problems[:5]))
            if options["json"]:
                self.stdout.write(json.dumps(row))
                self.stdout.flush()
        if not options["json"]:
            self._table(rows, bks)
        if failures:
            raise CommandError("Infeasible solutions:\n" + "\n".join(failures))

    def _solve(self, instance: solomon.SolomonInstance, limit: float, seed: int):
        started = time.perf_counter()
        problem = solomon.to_problem(instance)
        budget = max(0.1, limit - MARGIN - (time.perf_counter() - started))
        solution = solve(problem, time_limit=budget, seed=seed)
        violations = [v.message for v in check(problem, solution.routes)]
        if not solution.feasible and not violations:
            violations.append("the engine found no feasible solution")
        row = {
            "instance": instance.name,
            "vehicles": len(solution.routes),
            "distance": solution.distance(problem),
            "seconds": round(time.perf_counter() - started, 3),
            "routes": [[problem.visits[i].key for i in route.visits] for route in solution.routes],
        }
        return row, violations

    @staticmethod
    def _best_known(explicit: str | None, files: list[str]) -> dict[str, tuple[int, float]]:
        candidates = [Path(explicit)] if explicit else [Path(f).parent / BKS_NAME for f in files]
        for path in dict.fromkeys(candidates):
            if not path.is_file():
                if explicit:
                    raise CommandError(f"{path}: no such best-known file.")
                continue
            with path.open(newline="") as handle:
                try:
                    return {
                        r["instance"]: (int(r["vehicles"]), float(r["distance"]))
                        for r in csv.DictReader(handle)
                    }
                except (KeyError, ValueError) as exc:
                    raise CommandError(
                        f"{path}: expected columns instance,vehicles,distance ({exc})."
                    ) from exc
        return {}

    def _table(self, rows: list[dict], bks: dict[str, tuple[int, float]]) -> None:
        out = self.stdout
        out.write(f"{'instance':<10} {'veh':>4} {'distance':>11} {'seconds':>8}  best-known   gap")
        gaps = []
        for row in rows:
            known = bks.get(row["instance"])
            tail = ""
            if known:
                gap = 100 * (row["distance"] / known[1] - 1)
                gaps.append(gap)
                tail = f"  {known[0]:>3} {known[1]:>9.2f} {gap:>+6.2f}%"
            out.write(
                f"{row['instance']:<10} {row['vehicles']:>4} {row['distance']:>11.2f} "
                f"{row['seconds']:>8.2f}{tail}"
            )
        if gaps:
            out.write(f"average gap over {len(gaps)} instances: {sum(gaps) / len(gaps):+.2f}%")
        sys.stdout.flush()
