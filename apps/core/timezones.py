"""Local time: every time a person reads or types is in their business's time zone.

`BusinessTimezoneMiddleware` activates the signed-in user's business zone for the whole request,
so templates, admin lists, readonly fields and messages show local time, forms read what is typed
as local time, and date filters ("today", the date hierarchy) cut days at local midnight.
Platform superusers (no business) work in `settings.TIME_ZONE` (UTC), except on one business's row
in the admin, which shows that business's zone (`TenantScopedAdmin.changeform_view`); every time
is printed with its zone's abbreviation, so nobody has to guess which one they are reading.

Pages and services that render outside a request (PDFs, emails, worker messages) use
`timezone.override(zone_of(business))` or the formatting helpers here with an explicit zone.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.utils import timezone
from django.utils.dateformat import TimeFormat
from django.utils.dateformat import format as date_format

# What a person reads: "Dec. 8, 2026, 8:00 AM MST" (the abbreviation of the moment itself);
# the same as the admin's DATETIME_FORMAT (thorbis/formats/en/formats.py).
DATETIME_FORMAT = "N j, Y, g:i A T"
TIME_FORMAT = "g:i A"
DASH = "\u2013"  # an en dash, between the ends of a range


def zone_of(business) -> zoneinfo.ZoneInfo:
    """The business's zone as a ZoneInfo (the field hands back a string until the row is read)."""
    value = business.timezone
    return value if isinstance(value, zoneinfo.ZoneInfo) else zoneinfo.ZoneInfo(str(value))


def request_zone(request) -> zoneinfo.ZoneInfo | None:
    """The zone a request works in: the user's business's; None (the default, UTC) for anonymous
    visitors and platform superusers."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    business = getattr(user, "business", None)
    return zone_of(business) if business is not None else None


class BusinessTimezoneMiddleware:
    """Activates the signed-in user's business zone while the request (and its template
    rendering) runs; restores the previous zone afterwards, so nothing leaks to the next
    request on the thread. Place it after AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with timezone.override(request_zone(request)):
            return self.get_response(request)


def install_abbreviation_for_repeated_hours() -> None:
    """Let the `T` format character name the zone of an aware datetime in a repeated or skipped
    hour too.

    Django leaves `T` blank whenever the wall-clock time is ambiguous in its zone, even for an
    aware datetime that knows which of the two it is (zoneinfo sets `fold`): exactly the hour on
    fall-back night when "1:30 AM MDT" and "1:30 AM MST" must be told apart. Naive values keep
    Django's behaviour. Installed once, from CoreConfig.ready()."""
    original = TimeFormat.T
    if getattr(original, "thorbis_fold_aware", False):
        return

    def T(self) -> str:  # Django names its methods after the format characters
        value = self.data
        if isinstance(value, dt.datetime) and value.tzinfo is not None:
            return value.tzname() or ""
        return original(self)

    T.thorbis_fold_aware = True
    TimeFormat.T = T


def abbreviation(moment: dt.datetime | None = None, zone: dt.tzinfo | None = None) -> str:
    """The zone's abbreviation at `moment` (default now): MST or MDT, IST, HST; zones without a
    letter abbreviation give their offset (e.g. "+04")."""
    zone = zone or timezone.get_current_timezone()
    moment = timezone.localtime(moment or timezone.now(), zone)
    return moment.tzname() or moment.strftime("%z")


def zone_label(moment: dt.datetime | None = None, zone: dt.tzinfo | None = None) -> str:
    """The abbreviation a person knows and the zone it belongs to: "MST (America/Denver)"."""
    zone = zone or timezone.get_current_timezone()
    name = str(getattr(zone, "key", zone))
    abbr = abbreviation(moment, zone)
    return name if abbr == name else f"{abbr} ({name})"


def format_local(
    moment: dt.datetime | None, fmt: str = DATETIME_FORMAT, zone: dt.tzinfo | None = None
) -> str:
    """An aware datetime as local text in `zone` (default: the active zone); "" for None.

    Django's format characters, so `T` prints the abbreviation valid at that moment (MST in
    winter, MDT in summer)."""
    if moment is None:
        return ""
    return date_format(timezone.localtime(moment, zone or timezone.get_current_timezone()), fmt)


def format_window(
    start: dt.datetime | None, end: dt.datetime | None, zone: dt.tzinfo | None = None
) -> str:
    """An arrival window as a dispatcher says it: "Tue Dec 8, 8:00 - 10:00 AM MST"
    (with an en dash).

    A window that crosses a day (or a DST change) spells out both ends."""
    if start is None:
        return ""
    zone = zone or timezone.get_current_timezone()
    s = timezone.localtime(start, zone)
    if end is None:
        return date_format(s, "D M j, g:i A T")
    e = timezone.localtime(end, zone)
    if s.date() != e.date() or s.tzname() != e.tzname():
        return f"{date_format(s, 'D M j, g:i A T')} {DASH} {date_format(e, 'D M j, g:i A T')}"
    if date_format(s, "A") == date_format(e, "A"):
        return f"{date_format(s, 'D M j, g:i')} {DASH} {date_format(e, 'g:i A T')}"
    return f"{date_format(s, 'D M j, g:i A')} {DASH} {date_format(e, 'g:i A T')}"


# --- local times people type -----------------------------------------------------------------
def _offset(naive: dt.datetime, zone: dt.tzinfo, fold: int) -> dt.timedelta:
    return naive.replace(tzinfo=zone, fold=fold).utcoffset()


def _transition(naive: dt.datetime, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """The wall-clock readings just before and just after the offset change near `naive`
    (found by bisection on UTC minutes): (2:00, 3:00) for a spring-forward gap, (2:00, 1:00)
    for a fall-back overlap."""
    early, late = _offset(naive, zone, 0), _offset(naive, zone, 1)
    low = (naive - max(early, late)).replace(tzinfo=dt.UTC) - dt.timedelta(hours=3)
    high = (naive - min(early, late)).replace(tzinfo=dt.UTC) + dt.timedelta(hours=3)
    before = low.astimezone(zone).utcoffset()
    while high - low > dt.timedelta(minutes=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == before:
            low = middle
        else:
            high = middle
    # `high` is the first instant on the new offset: read it on both clocks.
    after_clock = high.astimezone(zone).replace(tzinfo=None)
    before_clock = (high.astimezone(dt.UTC) + before).replace(tzinfo=None)
    return before_clock, after_clock


def local_time_problem(naive: dt.datetime, zone: dt.tzinfo) -> str | None:
    """Why a local wall-clock time cannot be turned into one instant, in words a dispatcher
    reads; None when it can. The spring-forward gap does not exist; the fall-back hour happens
    twice."""
    early, late = _offset(naive, zone, 0), _offset(naive, zone, 1)
    if early == late:
        return None
    name = str(getattr(zone, "key", zone))
    day = date_format(naive, "D M j, Y")
    when = date_format(naive, "g:i A")
    clock_before, clock_after = _transition(naive, zone)
    jump_from, jump_to = date_format(clock_before, "g:i A"), date_format(clock_after, "g:i A")
    if early < late:  # the wall clock jumps forward: the hour in between is never shown
        return (
            f"{when} on {day} does not exist in {name}: the clocks jump from {jump_from} to "
            f"{jump_to} that night. Enter a time before {jump_from} or from {jump_to}."
        )
    first = naive.replace(tzinfo=zone, fold=0).tzname()
    second = naive.replace(tzinfo=zone, fold=1).tzname()
    return (
        f"{when} on {day} happens twice in {name} ({first}, then {second}): the clocks go back "
        f"from {jump_from} to {jump_to} that night. Enter a time outside {jump_to}{DASH}{jump_from}, "
        "or keep the time already saved."
    )
