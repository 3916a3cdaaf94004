"""Storing readings: batch upload (idempotent on client_id), manual entry, file import."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.errors import DomainError
from apps.core.models import Business, Equipment, User, WorkOrder
from apps.diagnostics import importers, units
from apps.diagnostics.models import CaptureMethod, Instrument, InstrumentFamily, Phase, Reading


@dataclass(frozen=True)
class ReadingInput:
    client_id: uuid.UUID
    work_order: WorkOrder
    quantity: str
    value: Decimal
    unit: str
    taken_at: dt.datetime
    capture_method: str
    phase: str = Phase.TEST_IN
    equipment: Equipment | None = None
    instrument_family: str = ""
    instrument_model: str = ""
    instrument_serial: str = ""


def instrument_resolve(
    *, business: Business, family: str, serial: str, model: str = ""
) -> Instrument:
    """The instrument row for a serial, created on first sight."""
    family = family or InstrumentFamily.OTHER
    try:
        with transaction.atomic():
            instrument, created = Instrument.objects.get_or_create(
                business=business, family=family, serial=serial, defaults={"model": model}
            )
    except IntegrityError:  # another upload created it between our read and write
        instrument = Instrument.objects.get(business=business, family=family, serial=serial)
        created = False
    if not created and model and not instrument.model:
        instrument.model = model
        instrument.save(update_fields=["model", "updated_at"])
    return instrument


def _check(*, business: Business, item: ReadingInput) -> None:
    if item.work_order.business_id != business.pk:
        raise DomainError("That work order is not in your business.", field="work_order")
    if item.equipment is not None:
        if item.equipment.business_id != business.pk:
            raise DomainError("That equipment is not in your business.", field="equipment")
        if item.equipment.location_id != item.work_order.location_id:
            raise DomainError(
                "That equipment is not at the work order's location.", field="equipment"
            )
    if timezone.is_naive(item.taken_at):
        raise DomainError("taken_at needs a time zone.", field="taken_at")
    if item.taken_at > timezone.now() + dt.timedelta(minutes=10):
        raise DomainError("taken_at is in the future.", field="taken_at")
    try:
        units.check(item.quantity, item.unit)
    except units.UnitError as exc:
        raise DomainError(str(exc), field="unit") from None


def reading_batch_store(
    *, business: Business, items: list[ReadingInput], by: User | None = None
) -> list[tuple[Reading, bool]]:
    """Store a batch; returns (reading, created) in input order. A client_id already stored
    answers with the stored row (first write wins), so a retried upload never duplicates.
    The batch is all or nothing."""
    for item in items:
        _check(business=business, item=item)
    ids = [item.client_id for item in items]
    if len(set(ids)) != len(ids):
        raise DomainError("The same client_id appears twice in one batch.", field="client_id")
    out: list[tuple[Reading, bool]] = []
    with transaction.atomic():
        existing = {
            r.client_id: r for r in Reading.objects.filter(business=business, client_id__in=ids)
        }
        for item in items:
            if item.client_id in existing:
                out.append((existing[item.client_id], False))
                continue
            instrument = None
            if item.instrument_serial:
                instrument = instrument_resolve(
                    business=business,
                    family=item.instrument_family,
                    serial=item.instrument_serial,
                    model=item.instrument_model,
                )
            fields = dict(
                work_order=item.work_order,
                equipment=item.equipment,
                quantity=item.quantity,
                value=item.value,
                unit=item.unit,
                instrument=instrument,
                instrument_serial=item.instrument_serial,
                capture_method=item.capture_method,
                taken_at=item.taken_at,
                phase=item.phase,
                entered_by=by,
            )
            try:
                with transaction.atomic():  # savepoint: a concurrent twin upload may win the race
                    reading = Reading.objects.create(
                        business=business, client_id=item.client_id, **fields
                    )
                out.append((reading, True))
            except IntegrityError:
                out.append(
                    (Reading.objects.get(business=business, client_id=item.client_id), False)
                )
    return out


def reading_import(
    *,
    business: Business,
    work_order: WorkOrder,
    filename: str,
    content: bytes,
    phase: str = Phase.TEST_IN,
    equipment: Equipment | None = None,
    by: User | None = None,
) -> tuple[importers.ParsedFile, list[tuple[Reading, bool]]]:
    """Import a TJF or CSV file. Each row's client_id derives from the file's bytes and the row,
    so importing the same file twice stores it once."""
    try:
        parsed = importers.parse_file(filename, content)
    except importers.ImportRejected as exc:
        raise DomainError(str(exc), field="file") from None
    if not parsed.readings:
        raise DomainError(
            "No readings we can use in this file. " + "; ".join(parsed.skipped), field="file"
        )
    digest = hashlib.sha256(content).hexdigest()
    zone = ZoneInfo(str(business.timezone))
    serial = parsed.instruments[0]["serial"] if len(parsed.instruments) == 1 else ""
    items = []
    for r in parsed.readings:
        taken = r.taken_at or timezone.now()
        if timezone.is_naive(taken):
            taken = taken.replace(tzinfo=zone)  # exports carry the tablet's local time
        family = InstrumentFamily.TESTO if parsed.fmt == "tjf" else InstrumentFamily.OTHER
        items.append(
            ReadingInput(
                client_id=uuid.uuid5(
                    uuid.NAMESPACE_URL, f"thorbis-import:{work_order.pk}:{digest}:{r.row}"
                ),
                work_order=work_order,
                quantity=r.quantity,
                value=r.value,
                unit=r.unit,
                taken_at=taken,
                capture_method=CaptureMethod.IMPORT,
                phase=r.phase or phase,
                equipment=equipment,
                instrument_family=family if (r.instrument_serial or serial) else "",
                instrument_model=r.instrument_model,
                instrument_serial=r.instrument_serial or serial,
            )
        )
    return parsed, reading_batch_store(business=business, items=items, by=by)
