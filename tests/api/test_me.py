import datetime as dt
from decimal import Decimal

from tests import factories as f
from tests.api.helpers import client_for


def test_me_for_a_technician(technician):
    skill = f.SkillFactory(business=technician.business, code="epa-608", name="EPA 608")
    technician.skills.add(skill)
    technician.home_base_address = "5000 Brighton Blvd, Denver, CO"
    technician.shift_start, technician.shift_end = dt.time(7, 0), dt.time(15, 30)
    technician.save()

    response = client_for(technician.user).get("/api/v1/me/")

    assert response.status_code == 200
    body = response.json()
    user = technician.user
    assert body["user"] == {
        "id": user.pk,
        "username": user.username,
        "name": user.get_full_name(),
        "email": user.email,
        "role": "technician",
    }
    assert body["business"] == {
        "id": technician.business.pk,
        "name": "Acme HVAC",
        "timezone": "America/Denver",
        "currency": "USD",
    }
    assert body["technician"] == {
        "id": technician.pk,
        "phone": "+13035550142",
        "skills": [{"id": skill.pk, "code": "epa-608", "name": "EPA 608", "kind": "skill"}],
        "shift_start": "07:00:00",
        "shift_end": "15:30:00",
        "home_base": {
            "address": "5000 Brighton Blvd, Denver, CO",
            "latitude": "39.700000",
            "longitude": "-105.000000",
        },
        "active": True,
    }
    assert Decimal(body["technician"]["home_base"]["latitude"]) == technician.home_latitude


def test_me_for_a_dispatcher_has_no_technician_profile(dispatcher):
    body = client_for(dispatcher).get("/api/v1/me/").json()

    assert body["user"]["role"] == "dispatcher"
    assert body["business"]["id"] == dispatcher.business_id
    assert body["technician"] is None


def test_me_never_shows_another_business(technician, other_business):
    body = client_for(technician.user).get("/api/v1/me/").json()

    assert body["business"]["id"] == technician.business_id != other_business.pk


def test_me_without_a_phone_on_file_gives_null(technician):
    technician.phone = ""
    technician.save()

    body = client_for(technician.user).get("/api/v1/me/").json()

    assert body["technician"]["phone"] is None
