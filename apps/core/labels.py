"""Stored codes and instants as people read them (admin titles, lists, messages)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

ARROW = "\u2192"


def readable(code: str) -> str:
    """A code without choices, for people: "appointment_confirmation" -> "Appointment confirmation"."""
    text = str(code or "").replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def local_stamp(moment: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    """An instant in the active time zone (the business's, for office users), with its zone."""
    if moment is None:
        return ""
    return (
        timezone.localtime(moment).strftime(fmt)
        if timezone.is_aware(moment)
        else moment.strftime(fmt)
    )
