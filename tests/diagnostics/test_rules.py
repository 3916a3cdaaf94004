"""The rule set over measured values: patterns, severities, citations, versions."""

import pytest

from apps.diagnostics.rules import Inputs, Measured, evaluate, rules_version


def run(values: dict, **kw):
    measured = {q: Measured(v, (i,)) for i, (q, v) in enumerate(values.items(), start=1)}
    _, results = evaluate(
        Inputs(values=measured, refrigerant=kw.pop("refrigerant", "R-410A"), **kw)
    )
    return {r.rule_id: r for r in results}


BASE = {"return_wet_bulb": 64, "outdoor_dry_bulb": 96}  # target superheat 8 °F


def charge(sh_line, sc_line, **more):
    # R-410A: 118 psig -> 39.8 °F dew; 365 psig -> 109.7 °F bubble
    return {**BASE, "suction_pressure": 118, "suction_line_temp": sh_line, "liquid_pressure": 365,
            "liquid_line_temp": sc_line, **more}  # fmt: skip


def test_undercharge_high_superheat_low_subcooling():
    found = run(charge(39.8 + 25, 109.7 - 2))
    assert found["fault.undercharge"].severity == "fail"
    assert set(found["fault.undercharge"].reading_ids) == {
        1,
        2,
        3,
        4,
        5,
        6,
    }  # every reading it used
    assert "fault.overcharge" not in found and "fault.restriction" not in found


def test_overcharge_low_superheat_high_subcooling():
    found = run(charge(39.8 + 1, 109.7 - 20))
    assert found["fault.overcharge"].severity == "fail"
    assert "fault.undercharge" not in found


def test_restriction_high_superheat_high_subcooling():
    found = run(charge(39.8 + 25, 109.7 - 20))
    assert found["fault.restriction"].severity == "fail"
    assert "fault.undercharge" not in found


def test_correct_charge_passes():
    found = run(charge(39.8 + 8, 109.7 - 10))
    assert found["charge.superheat"].severity == "pass"
    assert found["charge.subcooling"].severity == "pass"
    assert not [r for r in found if r.startswith("fault.")]


def test_low_indoor_airflow_high_split_low_superheat():
    found = run(charge(39.8 + 1, 109.7 - 10, return_dry_bulb=78, supply_dry_bulb=50))
    assert found["fault.low_indoor_airflow"].severity == "fail"
    assert found["airflow.temperature_split"].severity == "attention"
    assert found["fault.low_indoor_airflow"].measured["temperature_split_f"] == 28.0


def test_dirty_condenser_high_approach():
    # 365 psig -> 109.7 °F condensing with 70 °F outdoor air: approach ~40 °F
    values = {
        "liquid_pressure": 365,
        "liquid_line_temp": 99.7,
        "outdoor_dry_bulb": 70,
        "return_wet_bulb": 62,
    }
    found = run(values, metering="txv")
    assert found["fault.dirty_condenser"].severity == "fail"
    assert found["fault.dirty_condenser"].measured["condenser_approach_f"] == pytest.approx(
        39.7, abs=0.1
    )


def test_txv_uses_the_nameplate_target_subcooling():
    values = {"liquid_pressure": 365, "liquid_line_temp": 109.7 - 8}
    assert run(values, metering="txv", target_subcool_f=8.0)["charge.subcooling"].severity == "pass"
    assert (
        run(values, metering="txv", target_subcool_f=13.0)["charge.subcooling"].severity
        == "attention"
    )


@pytest.mark.parametrize(
    ("co", "o2", "severity"), [(20, 8, "pass"), (80, 8, "fail"), (250, 8, "danger")]
)
def test_air_free_co_limits(co, o2, severity):
    # 80 ppm at 8 % O2 -> 129.6 ppm air-free; 250 -> 405
    assert run({"co": co, "o2": o2}, refrigerant="")["combustion.air_free_co"].severity == severity


def test_ambient_co_and_o2():
    found = run({"ambient_co": 40, "o2": 12, "co": 10}, refrigerant="")
    assert found["combustion.ambient_co"].severity == "danger"
    assert found["combustion.o2"].severity == "attention"


def test_rules_without_inputs_say_nothing():
    assert run({"voltage": 240}) == {}


def test_every_finding_carries_a_rule_version_and_the_set_has_a_fingerprint():
    found = run(charge(39.8 + 25, 109.7 - 2))
    assert all(r.rule_version >= 1 for r in found.values())
    assert rules_version().startswith("11 rules sha256:")


def test_pressure_beyond_the_table_is_noted_not_crashed():
    found = run({"suction_pressure": 2000, "suction_line_temp": 50})
    assert "charge.superheat" not in found


def test_target_superheat_from_dry_bulb_and_humidity_when_no_wet_bulb():
    values = {"return_dry_bulb": 80, "relative_humidity": 50, "outdoor_dry_bulb": 95,
              "suction_pressure": 118, "suction_line_temp": 39.8 + 10}  # fmt: skip
    found = run(values)
    # WB 66.66 °F -> target (3*66.66 - 80 - 95)/2 = 12.5 °F
    assert found["charge.superheat"].measured["target_superheat_f"] == pytest.approx(12.5, abs=0.1)
    assert set(found["charge.superheat"].reading_ids) == {1, 2, 3, 4, 5}
