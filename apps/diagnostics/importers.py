"""File import for instruments that cannot connect: Testo's TJF export and our CSV format.

Both parse into plain `ParsedReading`s; the service stores them. Nothing is stored unless the
whole file parses, and every skipped channel is reported with its reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from apps.diagnostics import units


class ImportRejected(ValueError):
    pass


@dataclass(frozen=True)
class ParsedReading:
    row: int
    quantity: str
    value: Decimal
    unit: str
    taken_at: dt.datetime | None  # naive: local time of the business
    instrument_serial: str = ""
    instrument_model: str = ""
    phase: str | None = None


@dataclass
class ParsedFile:
    fmt: str
    readings: list[ParsedReading] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    instruments: list[dict] = field(default_factory=list)


# TJF valueType codes (testo Smart app, refrigeration) -> our quantities. The app's own derived
# channels (to, tc, Δtoh, Δtcu) are skipped: we compute saturation, superheat and subcooling
# from the raw pressures and temperatures with our tables.
TJF_VALUE_TYPES = {
    "ND": "suction_pressure",
    "HD": "liquid_pressure",
    "toh": "suction_line_temp",
    "tcu": "liquid_line_temp",
}
TJF_DERIVED = {"to", "tc", "Δtoh", "Δtcu", "toh_target", "Δtoh_target"}
TJF_UNITS = {"bar": "bar", "°C": "C", "°F": "F", "psi": "psig", "kPa": "kPa", "Pa": "Pa"}


def _parse_time(raw: str, where: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except (ValueError, AttributeError):
        raise ImportRejected(f"{where}: {raw!r} is not an ISO 8601 date and time.") from None


def parse_tjf(content: bytes) -> ParsedFile:
    try:
        doc = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportRejected(f"Not a TJF (JSON) file: {exc}.") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("channels"), list):
        raise ImportRejected("Not a TJF file: no 'channels' list.")
    out = ParsedFile(fmt="tjf")
    for prop in doc.get("properties") or []:
        if isinstance(prop, dict) and prop.get("name") == "pressureType":
            kind = " ".join(str(v.get("value", "")) for v in prop.get("values") or [])
            if "abs" in kind.lower():
                raise ImportRejected(
                    "This TJF file holds absolute pressures; export gauge (P rel)."
                )
    out.instruments = [
        {"model": str(d.get("name", "")), "serial": str(d.get("serial", ""))}
        for d in doc.get("device") or []
        if isinstance(d, dict)
    ]
    default_time = doc.get("timeStamp")
    row = 0
    for ci, channel in enumerate(doc["channels"], start=1):
        unit_name = ((channel or {}).get("unit") or {}).get("name", "")
        for value in (channel or {}).get("values") or []:
            row += 1
            codes = [
                a.get("description")
                for a in value.get("additionalData") or []
                if a.get("name") == "valueType"
            ]
            code = codes[0] if codes else ""
            if code in TJF_DERIVED:
                out.skipped.append(f"channel {ci}: {code} is computed by the app; we recompute it")
                continue
            quantity = TJF_VALUE_TYPES.get(code)
            unit = TJF_UNITS.get(unit_name)
            if quantity is None or unit is None:
                out.skipped.append(f"channel {ci}: unknown value type {code!r} in {unit_name!r}")
                continue
            if value.get("description") == "---" or not isinstance(value.get("value"), int | float):
                out.skipped.append(f"channel {ci}: {code} has no valid value")
                continue
            stamp = value.get("timeStamp") or default_time
            out.readings.append(
                ParsedReading(
                    row=row,
                    quantity=quantity,
                    value=Decimal(str(round(value["value"], 4))),
                    unit=unit,
                    taken_at=_parse_time(stamp, f"channel {ci}") if stamp else None,
                )
            )
    return out


CSV_COLUMNS = ("quantity", "value", "unit", "taken_at")


def parse_csv(content: bytes) -> ParsedFile:
    """Columns: quantity, value, unit, taken_at (ISO 8601), and optionally phase (in/out),
    instrument_serial, instrument_model."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRejected("The CSV file is not UTF-8 text.") from None
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise ImportRejected(f"The CSV file lacks the column(s): {', '.join(missing)}.")
    out = ParsedFile(fmt="csv")
    errors = []
    for n, line in enumerate(reader, start=2):
        try:
            quantity, unit = line["quantity"].strip(), line["unit"].strip()
            units.check(quantity, unit)
            try:
                value = Decimal(line["value"].strip())
            except InvalidOperation:
                raise ImportRejected(f"{line['value']!r} is not a number") from None
            if not value.is_finite():
                raise ImportRejected("value must be a finite number")
            phase = (line.get("phase") or "").strip() or None
            if phase not in (None, "in", "out"):
                raise ImportRejected(f"phase must be 'in' or 'out', not {phase!r}")
            out.readings.append(
                ParsedReading(
                    row=n,
                    quantity=quantity,
                    value=value,
                    unit=unit,
                    taken_at=_parse_time(line["taken_at"], "taken_at"),
                    instrument_serial=(line.get("instrument_serial") or "").strip(),
                    instrument_model=(line.get("instrument_model") or "").strip(),
                    phase=phase,
                )
            )
        except (ImportRejected, units.UnitError) as exc:
            errors.append(f"line {n}: {exc}")
    if errors:
        raise ImportRejected("; ".join(errors[:20]))
    if not out.readings:
        raise ImportRejected("The CSV file has no readings.")
    return out


def parse_file(filename: str, content: bytes) -> ParsedFile:
    name = filename.lower()
    if name.endswith(".csv"):
        return parse_csv(content)
    if name.endswith((".tjf", ".json")):
        return parse_tjf(content)
    raise ImportRejected("Upload a Testo .tjf/.json export or a .csv file.")
