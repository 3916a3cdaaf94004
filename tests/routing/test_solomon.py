"""The benchmark contract: Solomon files in, one JSON line per instance out, checked solutions."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from apps.routing.solver import check, solomon, solve

SHARED = Path(__file__).resolve().parents[3] / "shared" / "bench" / "solomon"
needs_shared = pytest.mark.skipif(
    not SHARED.is_dir(), reason="../shared/bench/solomon is not present (CI provides it)"
)

# Ten customers in the original layout (blank lines, a header, fixed-width columns, CRLF).
TINY = """TINY10\r
\r
VEHICLE\r
NUMBER     CAPACITY\r
  4          50\r
\r
CUSTOMER\r
CUST NO.   XCOORD.   YCOORD.    DEMAND   READY TIME   DUE DATE   SERVICE TIME\r
 \r
    0      40         50          0          0        240          0\r
    1      45         68         10          0        200         10\r
    2      45         70         10          0        200         10\r
    3      42         66         10          0        200         10\r
    4      42         68         20          0        200         10\r
    5      42         65         10         20         60         10\r
    6      40         69         20          0        200         10\r
    7      40         66         20          0        200         10\r
    8      38         68         20          0        200         10\r
    9      38         70         10         30         80         10\r
   12      25         85         20          0        200         10\r
"""


@pytest.fixture
def tiny(tmp_path) -> Path:
    path = tmp_path / "tiny10.txt"
    path.write_text(TINY, newline="")
    return path


def test_parser_reads_the_header_rows_and_keeps_customer_numbers(tiny):
    instance = solomon.read(tiny)
    assert (instance.name, instance.vehicles, instance.capacity) == ("TINY10", 4, 50)
    assert instance.customer_numbers[-1] == 12
    problem = solomon.to_problem(instance)
    assert len(problem.vehicles) == 4 and len(problem.visits) == 10
    assert problem.distances[0, 1] == pytest.approx((5**2 + 18**2) ** 0.5)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("X\nCUSTOMER\n0 1 1 0 0 10 0\n", "no VEHICLE section"),
        ("X\nVEHICLE\nNUMBER CAPACITY\n2 10\n", "no CUSTOMER section"),
        ("X\nVEHICLE\n2\nCUSTOMER\n0 0 0 0 0 9 0\n1 1 1 1 0 9 0\n", "NUMBER CAPACITY"),
        ("X\nVEHICLE\n2 10\nCUSTOMER\n0 0 0 0 0 9 0\n1 1 1 1 0 9\n", "7 numbers"),
        ("X\nVEHICLE\n2 10\nCUSTOMER\n0 0 0 0 0 9 0\n1 1 1 1 5 2 0\n", "due date before"),
    ],
)
def test_malformed_files_fail_with_a_clear_message(text, message):
    with pytest.raises(solomon.SolomonFormatError, match=message):
        solomon.parse(text, source="bad.txt")


def test_json_output_is_one_line_per_instance_with_the_file_numbers(tiny, capsys):
    call_command("routing_benchmark", str(tiny), str(tiny), "--time-limit", "0.5", "--json")
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    row = json.loads(lines[0])
    assert set(row) == {"instance", "vehicles", "distance", "seconds", "routes"}
    assert row["instance"] == "TINY10"
    assert row["vehicles"] == len(row["routes"]) <= 4
    assert sorted(c for r in row["routes"] for c in r) == [1, 2, 3, 4, 5, 6, 7, 8, 9, 12]
    assert row["seconds"] <= 0.5 + 0.1
    # The distance is recomputed in double precision from the printed routes.
    inst = solomon.read(tiny)
    xy = {int(r[0]): (r[1], r[2]) for r in inst.rows}
    total = 0.0
    for route in row["routes"]:
        path = [0, *route, 0]
        total += sum(
            ((xy[a][0] - xy[b][0]) ** 2 + (xy[a][1] - xy[b][1]) ** 2) ** 0.5
            for a, b in itertools.pairwise(path)
        )
    assert row["distance"] == pytest.approx(total, abs=1e-9)


def test_the_table_shows_the_gap_when_best_known_values_are_given(tiny, tmp_path, capsys):
    bks = tmp_path / "bks.csv"
    bks.write_text("instance,vehicles,distance,source\nTINY10,2,100.0,made up\n")
    call_command("routing_benchmark", str(tiny), "--time-limit", "0.3", "--bks", str(bks))
    out = capsys.readouterr().out
    assert "TINY10" in out and "%" in out and "average gap over 1 instances" in out


def test_unreadable_files_stop_the_run_before_solving(tiny, tmp_path):
    with pytest.raises(CommandError, match="cannot read the file"):
        call_command("routing_benchmark", str(tiny), str(tmp_path / "missing.txt"))
    bad = tmp_path / "bad.txt"
    bad.write_text("hello\n")
    with pytest.raises(CommandError, match="no VEHICLE section"):
        call_command("routing_benchmark", str(bad), "--time-limit", "1")
    with pytest.raises(CommandError, match="positive"):
        call_command("routing_benchmark", str(tiny), "--time-limit", "0")


def test_the_command_exits_non_zero_on_a_bad_file(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("not a solomon file\n")
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(  # noqa: S603  (our own manage.py, fixed arguments)
        [sys.executable, "manage.py", "routing_benchmark", str(bad), "--json"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "thorbis.settings_test"},
    )
    assert result.returncode != 0
    assert "no VEHICLE section" in result.stderr
    assert result.stdout == ""


@needs_shared
def test_a_real_instance_is_solved_feasibly_close_to_the_best_known():
    instance = solomon.read(SHARED / "C101.txt")
    problem = solomon.to_problem(instance)
    solution = solve(problem, time_limit=1.0)
    assert check(problem, solution.routes) == []
    assert len(solution.routes) <= instance.vehicles
    assert solution.distance(problem) < 827.3 * 1.03  # distance-only best known (truncated)
