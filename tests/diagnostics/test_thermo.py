"""Saturation against the verified values (research notes §3.1 and Appendix C), altitude,
and the charge and combustion formulas."""

import json

import pytest

from apps.diagnostics import thermo

# (refrigerant, psig, side, °F expected, tolerance): CoolProp 8 values cross-checked against
# published P-T charts in the research notes.
VERIFIED = [
    ("R-410A", 118, "dew", 39.8, 0.1),
    ("R-410A", 118, "bubble", 39.7, 0.1),
    ("R-410A", 365, "bubble", 109.7, 0.1),
    ("R-410A", 365, "dew", 109.9, 0.1),
    ("R-32", 121.0, "dew", 40.0, 0.1),
    ("R-32", 374.9, "bubble", 110.0, 0.1),
    ("R-454B", 118, "dew", 44.9, 0.1),
    ("R-454B", 118, "bubble", 42.2, 0.1),
    ("R-454B", 365, "dew", 116.0, 0.1),
    ("R-454B", 365, "bubble", 113.4, 0.1),
    ("R-22", 68.5, "dew", 40.0, 0.1),
    ("R-134a", 35.0, "dew", 40.0, 0.1),
    ("R-407C", 63.2, "dew", 40.0, 0.1),
    ("R-407C", 63.2, "bubble", 28.9, 0.1),
    ("R-407C", 222, "bubble", 98.9, 0.1),
    ("R-407C", 222, "dew", 108.0, 0.1),
]


@pytest.mark.parametrize(("refrigerant", "psig", "side", "expected", "tol"), VERIFIED)
def test_saturation_matches_the_verified_table(refrigerant, psig, side, expected, tol):
    assert thermo.saturation_temp_f(refrigerant, psig, side=side) == pytest.approx(
        expected, abs=tol
    )


# Published chart anchors (calcspec / REFPROP): psig at 40 / 100 / 110 °F.
REVERSE = [
    ("R-410A", 40, "bubble", 118.8),
    ("R-410A", 110, "bubble", 366.5),
    ("R-22", 100, "dew", 195.9),
    ("R-22", 110, "dew", 226.4),
    ("R-134a", 100, "dew", 124.2),
    ("R-32", 100, "dew", 325.7),
    ("R-454B", 100, "bubble", 303.3),
    ("R-407C", 40, "bubble", 80.2),
]


@pytest.mark.parametrize(("refrigerant", "temp_f", "side", "psig"), REVERSE)
def test_reverse_lookup_matches_charts(refrigerant, temp_f, side, psig):
    assert thermo.saturation_psig(refrigerant, temp_f, side=side) == pytest.approx(psig, abs=0.15)


def test_zeotrope_glide_is_kept_apart():
    dew = thermo.saturation_temp_f("R-407C", 63, side="dew")
    bubble = thermo.saturation_temp_f("R-407C", 63, side="bubble")
    assert dew - bubble > 9


def test_altitude_lowers_saturation_in_denver():
    # 118 psig at 12.1 psia barometric is 38.7 °F, not 39.8 °F.
    assert thermo.saturation_temp_f(
        "R-410A", 118, side="dew", barometric_psia=12.1
    ) == pytest.approx(38.7, abs=0.1)


def test_r454b_works_where_coolprops_pressure_solver_fails():
    # CoolProp's PQ flash fails for R454B.mix at 465-490 psig; the QT-generated table does not.
    for side in ("dew", "bubble"):
        temps = [thermo.saturation_temp_f("R-454B", p, side=side) for p in (465, 480, 490, 550)]
        assert temps == sorted(temps) and all(125 < t < 150 for t in temps)
    assert thermo.saturation_temp_f("R-454B", 480, side="dew") > thermo.saturation_temp_f(
        "R-454B", 480, side="bubble"
    )


def test_pressure_outside_the_table_is_a_clear_error():
    with pytest.raises(thermo.OutOfRange, match="outside the R-410A table"):
        thermo.saturation_temp_f("R-410A", 900, side="dew")
    with pytest.raises(thermo.OutOfRange, match="No saturation table"):
        thermo.saturation_temp_f("R-12", 50, side="dew")


def test_superheat_and_subcooling():
    assert thermo.superheat_f("R-410A", 118, 52) == pytest.approx(12.2, abs=0.1)
    assert thermo.subcooling_f("R-410A", 365, 99) == pytest.approx(10.7, abs=0.1)


@pytest.mark.parametrize(
    ("iwb", "odb", "target"), [(64, 96, 8), (63, 95, 7), (62, 100, None), (66, 50, None)]
)
def test_target_superheat(iwb, odb, target):
    assert thermo.target_superheat_f(iwb, odb) == target


def test_air_free_co():
    assert thermo.air_free_co_ppm(50, 9) == pytest.approx(87.8, abs=0.05)
    assert thermo.air_free_co_ppm(87, 5) == pytest.approx(114.4, abs=0.1)
    with pytest.raises(ValueError, match="O2"):
        thermo.air_free_co_ppm(50, 20.9)


def test_committed_tables_cover_every_refrigerant_and_say_where_they_came_from():
    for code in thermo.REFRIGERANTS:
        data = json.loads((thermo.DATA_DIR / f"{code}.json").read_text())
        assert data["source"].startswith("CoolProp 8.0.0")
        assert len(data["dew"]) > 400 and len(data["bubble"]) > 400
        pressures = [p for _, p in data["dew"]]
        assert pressures == sorted(pressures)


def test_committed_tables_match_a_fresh_coolprop_run():
    pytest.importorskip("CoolProp", reason="CoolProp is only needed to regenerate the tables")
    import CoolProp.CoolProp as CP

    from apps.diagnostics.refrigerants.generate import table_for

    committed = json.loads((thermo.DATA_DIR / "R-410A.json").read_text())
    fresh = table_for("R-410A")
    assert (fresh["dew"], fresh["bubble"]) == (committed["dew"], committed["bubble"])
    # The slow R-454B mixture model: spot checks against the committed grid.
    table = json.loads((thermo.DATA_DIR / "R-454B.json").read_text())
    for temp_f, kpa in table["dew"][::60]:
        k = (temp_f - 32) * 5 / 9 + 273.15
        assert CP.PropsSI("P", "T", k, "Q", 1, "R454B.mix") / 1000 == pytest.approx(kpa, abs=1e-4)


@pytest.mark.parametrize(("db", "rh", "wb"), [(75, 50, 62.55), (80, 50, 66.66), (75, 100, 75.0)])
def test_wet_bulb_from_dry_bulb_and_humidity(db, rh, wb):
    # psychrolib GetTWetBulbFromRelHum values (research notes §3)
    assert thermo.wet_bulb_f(db, rh) == pytest.approx(wb, abs=0.02)


def test_wet_bulb_refuses_impossible_humidity():
    with pytest.raises(ValueError, match="Relative humidity"):
        thermo.wet_bulb_f(75, 0)
