import datetime as dt
import uuid

import pytest
from django.utils import timezone

from apps.diagnostics.models import EquipmentProfile
from tests import factories as f
from tests.api.helpers import client_for


@pytest.fixture
def site(business, technician):
    """A job at a house with one R-410A fixed-orifice AC, assigned to the technician."""
    location = f.ServiceLocationFactory(customer=f.CustomerFactory(business=business))
    equipment = f.EquipmentFactory(location=location)
    EquipmentProfile.objects.create(business=business, equipment=equipment, metering="fixed")
    work_order = f.WorkOrderFactory(location=location, assigned_technician=technician)
    work_order.equipment.add(equipment)
    return work_order, equipment


@pytest.fixture
def work_order(site):
    return site[0]


@pytest.fixture
def equipment(site):
    return site[1]


@pytest.fixture
def tech_client(technician):
    return client_for(technician.user)


@pytest.fixture
def office_client(dispatcher):
    return client_for(dispatcher)


@pytest.fixture
def rival_client(other_business):
    return client_for(f.UserFactory(business=other_business, role="dispatcher", is_staff=True))


def reading(work_order, quantity, value, unit, *, minutes_ago=5, **extra):
    payload = {
        "client_id": str(uuid.uuid4()),
        "work_order": work_order.pk,
        "quantity": quantity,
        "value": str(value),
        "unit": unit,
        "taken_at": (timezone.now() - dt.timedelta(minutes=minutes_ago)).isoformat(),
        "capture_method": "ble",
    }
    payload.update(extra)
    return payload


def undercharged_set(work_order, **extra):
    """R-410A, fixed orifice: SH 38 °F against target 8 °F, SC about 0 °F."""
    return [
        reading(work_order, "suction_pressure", 100, "psig", **extra),
        reading(work_order, "suction_line_temp", 70, "F", **extra),
        reading(work_order, "liquid_pressure", 300, "psig", **extra),
        reading(work_order, "liquid_line_temp", 100, "F", **extra),
        reading(work_order, "return_wet_bulb", 64, "F", **extra),
        reading(work_order, "outdoor_dry_bulb", 96, "F", **extra),
        reading(work_order, "return_dry_bulb", 75, "F", **extra),
        reading(work_order, "supply_dry_bulb", 60, "F", **extra),
    ]
