"""Why a job is not on anyone's route, in the words a dispatcher uses.

Before solving (`refusal`): nobody could ever take it (no map position, nobody on shift with the
skill, no van with the parts) or it stays with its technician outside the plan (`kept`). After
solving (`why_unplanned`): the parts are on vans that need them for other jobs, or no qualified
technician has a slot: we look for the earliest moment any of them could get there without
breaking another stop's window or their shift, and say so ("the nearest free technician arrives
at 10:40 AM").
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from apps.routing.models import UnassignedReason

from .inputs import DayInput, JobInput, TechInput, eligible

R = UnassignedReason
NAMES_SHOWN = 3
DASH, TIMES = "\u2013", "\u00d7"  # en dash (8-10 AM), multiplication sign (1 x Capacitor)


@dataclasses.dataclass
class Refusal:
    job: JobInput
    reason: str
    detail: str


# --- wording ----------------------------------------------------------------------------------
def clock_text(moment: dt.datetime, tz: dt.tzinfo, *, meridiem: bool = True) -> str:
    """10:40 AM, 8 AM, 12:30 PM."""
    local = moment.astimezone(tz)
    hour = local.hour % 12 or 12
    text = f"{hour}" if local.minute == 0 else f"{hour}:{local.minute:02d}"
    return f"{text} {'AM' if local.hour < 12 else 'PM'}" if meridiem else text


def window_text(start: dt.datetime, end: dt.datetime, tz: dt.tzinfo) -> str:
    """8-10 AM, 11 AM-1 PM (with an en dash); the date too when it is not one day."""
    s, e = start.astimezone(tz), end.astimezone(tz)
    if s.date() != e.date():
        return f"{s:%b %d} {clock_text(s, tz)}{DASH}{e:%b %d} {clock_text(e, tz)}"
    same_half = (s.hour < 12) == (e.hour < 12)
    return f"{clock_text(s, tz, meridiem=not same_half)}{DASH}{clock_text(e, tz)}"


def names_text(names: Sequence[str]) -> str:
    names = list(dict.fromkeys(names))
    if len(names) > NAMES_SHOWN:
        return ", ".join(names[:NAMES_SHOWN]) + f" and {len(names) - NAMES_SHOWN} more"
    if len(names) > 1:
        return ", ".join(names[:-1]) + " and " + names[-1]
    return names[0] if names else "nobody"


def _skills_text(day: DayInput, skills) -> str:
    quoted = [f"'{day.skill_names.get(s, str(s))}'" for s in sorted(skills)]
    return names_text(quoted) + (" skills" if len(quoted) > 1 else " skill")


def _parts_text(day: DayInput, parts: dict[int, int]) -> str:
    return names_text(
        [f"{qty} {TIMES} {day.part_names.get(p, str(p))}" for p, qty in sorted(parts.items())]
    )


# --- before solving ---------------------------------------------------------------------------
def kept(day: DayInput, job: JobInput) -> Refusal:
    """A job under way or dispatched whose technician has no route in this plan."""
    tech_id = job.kept_by
    absent = next((a for a in day.absent if a.id == tech_id), None)
    name = absent.name if absent else f"technician #{tech_id}"
    state = "is under way with" if job.fixed_to is not None else "was dispatched to"
    if job.point is None:
        why = "its address has no map position, so it cannot be placed on the route"
        working = next((t for t in day.technicians if t.id == tech_id), None)
        name = working.name if working else name
    elif absent is not None:
        why = f"{absent.why}"
    else:
        why = "they are not an active technician any more"
    return Refusal(
        job,
        R.KEPT,
        f"It {state} {name} and stays with them ({why}); reassign it by hand if needed.",
    )


def refusal(day: DayInput, job: JobInput) -> Refusal | None:
    """Why no technician could take this job at all today, or None if someone could."""
    techs = day.technicians
    if job.point is None:
        return Refusal(
            job,
            R.NO_LOCATION,
            "The address has no map position: add its latitude and longitude to the service "
            "location.",
        )
    if not techs:
        detail = (
            "Nobody is on shift for the rest of the day."
            if day.is_today and day.absent
            else "No technician works that day."
        )
        return Refusal(job, R.NO_TECHNICIAN, detail)
    skilled = [t for t in techs if job.skills <= t.skills]
    if not skilled:
        return Refusal(job, R.NO_SKILL, _no_skill(day, job))
    if not any(eligible(t, job) for t in skilled):
        return Refusal(job, R.NO_PARTS, _no_parts(day, job, skilled))
    return None


def _no_skill(day: DayInput, job: JobInput) -> str:
    on_shift = set().union(*(t.skills for t in day.technicians))
    missing = job.skills - on_shift or job.skills
    off = [a for a in day.absent if job.skills <= a.skills]
    if off:
        who = "; ".join(f"{a.name}: {a.why}" for a in off[:NAMES_SHOWN])
        return f"No technician with the {_skills_text(day, job.skills)} is on shift ({who})."
    if job.skills - on_shift:
        return (
            f"No technician has the {_skills_text(day, missing)}: add it to a technician or "
            "change the job's required skills."
        )
    return f"No technician on shift has all of the {_skills_text(day, job.skills)}."


def _no_parts(day: DayInput, job: JobInput, skilled: list[TechInput]) -> str:
    short = {
        p: qty for p, qty in job.parts.items() if not any(t.stock.get(p, 0) >= qty for t in skilled)
    }
    needs = f"Parts: needs {_parts_text(day, short or job.parts)}"
    if not short:
        return f"{needs}; no qualified technician's van has all of them together."
    carrying = [t for t in skilled if any(t.van.get(p, 0) >= q for p, q in short.items())]
    if carrying:
        return (
            f"{needs}; the vans that carry it ({names_text([t.name for t in carrying])}) "
            "need it for the jobs already dispatched to them."
        )
    if any(t.van.get(p, 0) for t in skilled for p in short):
        return f"{needs}, more than any qualified technician's van carries."
    return f"{needs}, not on any qualified technician's van."


# --- after solving ----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Slot:
    tech: TechInput
    arrival: dt.datetime
    overtime_minutes: int
    skips_lunch: bool = False
    detour_minutes: int = 0  # extra driving the job adds to the route


def why_unplanned(dp, timelines, routes, index: int) -> Refusal:
    """Why the solver left this job out: parts spoken for, or no slot that keeps every promise.

    `timelines` are the final routes' clocks, aligned with dp.techs.
    """
    job = dp.jobs[index]
    day, tz = dp.day, dp.day.tz
    candidates = [k for k, t in enumerate(dp.techs) if eligible(t, job)]
    binding = [p for p in job.parts if p in dp.part_dimensions]
    if binding and candidates:
        load = {r.vehicle: [i for i in r.visits if dp.is_job(i)] for r in routes}
        short = True
        for k in candidates:
            used = {p: sum(dp.jobs[i].parts.get(p, 0) for i in load.get(k, ())) for p in binding}
            if all(dp.techs[k].stock.get(p, 0) - used[p] >= job.parts[p] for p in binding):
                short = False
        if short:
            vans = names_text([dp.techs[k].name for k in candidates])
            needs = _parts_text(day, {p: job.parts[p] for p in binding})
            return Refusal(
                job,
                R.NO_PARTS,
                f"Parts: needs {needs}; the vans that carry it ({vans}) need it for their other "
                "jobs today.",
            )
    slot = earliest_slot(dp, [timelines[k] for k in candidates], job)
    names = names_text([dp.techs[k].name for k in candidates])
    window = window_text(job.window_start, job.window_end, tz) if job.has_window else None
    if slot is None:
        left = max(
            (dp.techs[k].latest_end - dp.techs[k].start_at for k in candidates), default=None
        )
        if left is not None and left < dt.timedelta(minutes=job.duration_minutes):
            # Not a busy day: the job is longer than what is left of anyone's day.
            who = (
                f"the only one who can do it, {names}, has"
                if len(candidates) == 1
                else f"{names} have"
            )
            detail = (
                f"It takes {_duration(job.duration_minutes)}, and {who} at most "
                f"{_duration(round(left.total_seconds() / 60))} left of their day."
            )
        elif window:
            detail = f"Its {window} window cannot be met: {_booked(names, len(candidates))}."
        else:
            detail = (
                f"No qualified technician has {_duration(job.duration_minutes)} free today: "
                f"{_booked(names, len(candidates))}."
            )
        return Refusal(job, R.NO_TIME, detail)
    when = clock_text(slot.arrival, tz)
    if window and slot.arrival > job.window_end:
        detail = (
            f"Its {window} window cannot be reached: the nearest free technician "
            f"({slot.tech.name}) arrives at {when}."
        )
    elif slot.detour_minutes * 60 >= (dp.problem.visits[index].prize or float("inf")):
        detail = (
            f"{slot.tech.name} could arrive at {when}, but it adds {slot.detour_minutes} min of "
            "driving to their day, more than the job is worth to the plan; assign it by hand "
            "if it must be today."
        )
    elif slot.skips_lunch:
        detail = (
            f"{slot.tech.name} could arrive at {when}, but only by skipping their lunch; assign "
            "it by hand if it must be today."
        )
    elif slot.overtime_minutes:
        detail = (
            f"{slot.tech.name} could arrive at {when}, but only with {slot.overtime_minutes} min "
            "of overtime, more than the job is worth to the plan; assign it by hand if it must "
            "be today."
        )
    else:
        detail = (
            f"{slot.tech.name} could arrive at {when}, but the optimiser found a better use of "
            "that time; assign it by hand if it must be today."
        )
    return Refusal(job, R.NO_TIME, detail)


def _duration(minutes: int) -> str:
    """45 min, 2 h, 3 h 30 min."""
    hours, rest = divmod(max(0, minutes), 60)
    if not hours:
        return f"{rest} min"
    return f"{hours} h" + (f" {rest} min" if rest else "")


def _booked(names: str, count: int) -> str:
    if count == 1:
        return f"the only one who can do it, {names}, is booked until the end of their day"
    return f"everyone who can do it ({names}) is booked until the end of their day"


def earliest_slot(dp, timelines, job: JobInput) -> Slot | None:
    """The earliest arrival any of these technicians could make at the job without making one
    of their stops late or working past their overtime limit; failing that, the earliest if
    they skipped lunch.

    Slots are tried in order of arrival, and a slot whose day has less room left (waits after
    it plus the time to the end of the day) than the job's length is never tried, so a job
    that fits nowhere is explained in a few milliseconds.
    """
    there = dp.loc(job.point)
    need = job.duration_minutes * 60
    for skip_lunch in (False, True):
        tried = []
        for timeline in timelines:
            if skip_lunch and timeline.lunch_start is None:
                continue
            tech, stops = timeline.tech, timeline.stops
            room = max(0.0, (tech.latest_end - timeline.end_at).total_seconds())
            room += timeline.lunch_minutes * 60 if skip_lunch else 0
            waits = [0.0] * (len(stops) + 1)
            for n in range(len(stops) - 1, -1, -1):
                waits[n] = waits[n + 1] + max(0.0, stops[n].wait_seconds)
            for p in range(sum(1 for s in stops if s.fixed), len(stops) + 1):
                if waits[p] + room < need:
                    continue  # not enough slack left in the day after this point
                leave = timeline.start_at if p == 0 else stops[p - 1].departure
                here = dp.loc(tech.start_point if p == 0 else stops[p - 1].job.point)
                arrival = leave + dt.timedelta(seconds=dp.matrix.leg_seconds(here, there, leave))
                tried.append((arrival, len(tried), timeline, p, here, leave))
        for arrival, _, timeline, p, here, leave in sorted(tried, key=lambda c: c[:2]):
            tech, stops = timeline.tech, timeline.stops
            begin = max(arrival, job.window_start) if job.has_window else arrival
            finish = begin + dt.timedelta(minutes=job.duration_minutes)
            end = _end_after_insert(dp, timeline, p, there, finish, skip_lunch=skip_lunch)
            if end is None or end > tech.latest_end:
                continue
            overtime = (end - max(tech.shift_end, timeline.end_at)).total_seconds()
            onward = dp.loc(stops[p].job.point if p < len(stops) else tech.home)
            detour = (
                dp.matrix.leg_seconds(here, there, leave)
                + dp.matrix.leg_seconds(there, onward, finish)
                - dp.matrix.leg_seconds(here, onward, leave)
            )
            return Slot(
                tech, arrival, max(0, round(overtime)) // 60, skip_lunch, max(0, round(detour / 60))
            )
    return None


def _end_after_insert(dp, timeline, p: int, there: int, finish: dt.datetime, *, skip_lunch):
    """When the day ends with the job inserted before stop p (p == len: after the last); None
    if a later stop would start after its window. Lunch moves with the stops it was next to,
    or is dropped with `skip_lunch`."""
    stops, lunch = timeline.stops, timeline.lunch_start
    pause = dt.timedelta(minutes=timeline.lunch_minutes) if lunch else dt.timedelta(0)

    def before_drive(j: int) -> bool:  # lunch eaten where stop j-1 ended, before driving to j
        left = timeline.start_at if j == 0 else stops[j - 1].departure
        return lunch is not None and left <= lunch < stops[j].eta

    def at_door(j: int) -> bool:  # lunch eaten at stop j's door, before starting
        return lunch is not None and stops[j].eta <= lunch < stops[j].service_start

    after_last = lunch is not None and (not stops or lunch >= stops[-1].departure)
    if p == len(stops):
        home = dp.loc(timeline.tech.home)
        end = finish + dt.timedelta(seconds=dp.matrix.leg_seconds(there, home, finish))
        return end + (pause if after_last and not skip_lunch else dt.timedelta(0))
    leg = dp.matrix.leg_seconds(there, dp.loc(stops[p].job.point), finish)
    arrival = finish + dt.timedelta(seconds=leg)
    if before_drive(p) and not skip_lunch:
        arrival += pause  # lunch now comes after the inserted job
    delay = arrival - stops[p].eta
    for j in range(p, len(stops)):
        stop = stops[j]
        if j > p:
            arrival = stop.eta + delay
            if skip_lunch and before_drive(j):
                arrival -= pause
        ready = arrival + (pause if at_door(j) and not skip_lunch else dt.timedelta(0))
        waits = stop.job.window_start and stop.job.status != "on_site"
        begin = max(ready, stop.job.window_start) if waits else ready
        if stop.job.has_window and begin > stop.job.window_end:
            return None
        delay = begin - stop.service_start
        if delay <= dt.timedelta(0) and not skip_lunch:
            return timeline.end_at  # the rest of the day is as planned
    return timeline.end_at + delay - (pause if skip_lunch and after_last else dt.timedelta(0))


def kept_unfitted(dp, timeline, job: JobInput) -> Refusal:
    """A dispatched job its technician's day has no room for: it stays theirs, and we say why."""
    tz, name = dp.day.tz, timeline.tech.name
    slot = earliest_slot(dp, [timeline], job)
    lead = f"It was dispatched to {name} and stays with them, but"
    if slot is None:
        back = clock_text(timeline.tech.latest_end, tz)
        detail = (
            f"{lead} it no longer fits in their day (they must be done by {back}); move it "
            "to someone else or another day by hand."
        )
    elif job.has_window and slot.arrival > job.window_end:
        window = window_text(job.window_start, job.window_end, tz)
        detail = (
            f"{lead} they cannot reach its {window} window: the earliest they can arrive is "
            f"{clock_text(slot.arrival, tz)}."
        )
    else:
        extra = f" with {slot.overtime_minutes} min of overtime" if slot.overtime_minutes else ""
        extra += " if they skipped lunch" if slot.skips_lunch else ""
        detail = (
            f"{lead} the plan found no room for it: they could arrive at "
            f"{clock_text(slot.arrival, tz)}{extra}; fit it in by hand."
        )
    return Refusal(job, R.KEPT, detail)
