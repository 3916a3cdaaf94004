"""The rules themselves. Each returns a Result citing its readings, or None when its inputs are
missing. Messages and recommendations are written for the homeowner's copy of the report."""

from __future__ import annotations

from apps.diagnostics.rules import (
    AIR_FREE_CO_DANGER_PPM,
    AIR_FREE_CO_SERVICE_PPM,
    AMBIENT_CO_ATTENTION_PPM,
    AMBIENT_CO_DANGER_PPM,
    ATTENTION,
    CONDENSER_APPROACH_MAX_F,
    DANGER,
    FAIL,
    HIGH,
    LOW,
    O2_BAND_PCT,
    OK,
    PASS,
    SPLIT_BAND_F,
    Measured,
    Result,
    _result,
    rule,
    subcooling_status,
    superheat_status,
)

SH, SC, TSH, TSC = "superheat_f", "subcooling_f", "target_superheat_f", "target_subcooling_f"
SPLIT, APPROACH, AFCO = "temperature_split_f", "condenser_approach_f", "air_free_co_ppm"


@rule("charge.superheat", 1)
def charge_superheat(inputs, c) -> Result | None:
    status = superheat_status(c)
    if status is None:
        return None
    sh = c.values[SH]
    target = c.values.get(TSH)
    against = f"target {target:.0f} °F" if target is not None else "the 5-20 °F a TXV should hold"
    if status == OK:
        return _result(
            charge_superheat,
            PASS,
            f"Superheat {sh:.1f} °F is within range of {against}.",
            "",
            c,
            SH,
            TSH,
        )
    word = "high" if status == HIGH else "low"
    return _result(
        charge_superheat,
        ATTENTION,
        f"Superheat {sh:.1f} °F is {word} against {against}.",
        "Check the charge and airflow; see the related findings.",
        c,
        SH,
        TSH,
    )


@rule("charge.subcooling", 1)
def charge_subcooling(inputs, c) -> Result | None:
    status = subcooling_status(c)
    if status is None:
        return None
    sc, target = c.values[SC], c.values.get(TSC, 10.0)
    if status == OK:
        return _result(
            charge_subcooling,
            PASS,
            f"Subcooling {sc:.1f} °F is within ±3 °F of target {target:.0f} °F.",
            "",
            c,
            SC,
            TSC,
        )
    return _result(
        charge_subcooling,
        ATTENTION,
        f"Subcooling {sc:.1f} °F is {'high' if status == HIGH else 'low'} against target {target:.0f} °F.",
        "Check the charge against the nameplate; see the related findings.",
        c,
        SC,
        TSC,
    )


@rule("fault.undercharge", 1)
def undercharge(inputs, c) -> Result | None:
    if superheat_status(c) == HIGH and subcooling_status(c) == LOW:
        return _result(
            undercharge,
            FAIL,
            "The system is low on refrigerant: superheat is high and subcooling is low.",
            "Find and repair the leak before adding refrigerant; topping up without a repair "
            "means the problem returns.",
            c,
            SH,
            SC,
            TSH,
            TSC,
        )
    return None


@rule("fault.overcharge", 1)
def overcharge(inputs, c) -> Result | None:
    if superheat_status(c) == LOW and subcooling_status(c) == HIGH:
        return _result(
            overcharge,
            FAIL,
            "The system holds too much refrigerant: superheat is low and subcooling is high.",
            "Recover refrigerant to the manufacturer's charge; an overcharge wastes energy and "
            "can damage the compressor.",
            c,
            SH,
            SC,
            TSH,
            TSC,
        )
    return None


@rule("fault.restriction", 1)
def restriction(inputs, c) -> Result | None:
    if superheat_status(c) == HIGH and subcooling_status(c) in (OK, HIGH):
        severity = FAIL if subcooling_status(c) == HIGH else ATTENTION
        return _result(
            restriction,
            severity,
            "Refrigerant flow looks restricted (liquid-line drier, metering device): superheat is "
            "high while subcooling is not low.",
            "Check the pressure drop across the filter drier and the metering device; replace the "
            "restricted part.",
            c,
            SH,
            SC,
            TSH,
            TSC,
        )
    return None


@rule("fault.low_indoor_airflow", 1)
def low_indoor_airflow(inputs, c) -> Result | None:
    split = c.values.get(SPLIT)
    if split is None or split <= SPLIT_BAND_F[1]:
        return None
    if superheat_status(c) not in (LOW, None) or subcooling_status(c) == LOW:
        return None
    return _result(
        low_indoor_airflow,
        FAIL,
        f"Too little air moves across the indoor coil: the temperature split is {split:.1f} °F"
        + (" and superheat is low." if superheat_status(c) == LOW else "."),
        "Replace the air filter, check the blower speed and clean the indoor coil; then re-test.",
        c,
        SPLIT,
        SH,
    )


@rule("fault.dirty_condenser", 1)
def dirty_condenser(inputs, c) -> Result | None:
    approach = c.values.get(APPROACH)
    if approach is None or approach <= CONDENSER_APPROACH_MAX_F:
        return None
    if superheat_status(c) == LOW and subcooling_status(c) == HIGH:
        return None  # an overcharge also raises head pressure; that finding explains it
    return _result(
        dirty_condenser,
        FAIL,
        f"The outdoor coil is not shedding heat: condensing temperature is {approach:.1f} °F "
        f"above outdoor air (expected under {CONDENSER_APPROACH_MAX_F:.0f} °F).",
        "Clean the outdoor coil and check the condenser fan; then re-test.",
        c,
        APPROACH,
    )


@rule("airflow.temperature_split", 1)
def temperature_split(inputs, c) -> Result | None:
    split = c.values.get(SPLIT)
    if split is None:
        return None
    lo, hi = SPLIT_BAND_F
    if lo <= split <= hi:
        return _result(
            temperature_split,
            PASS,
            f"Temperature split {split:.1f} °F is normal ({lo:.0f}-{hi:.0f} °F).",
            "",
            c,
            SPLIT,
        )
    why = "low airflow" if split > hi else "low capacity, low charge or high humidity"
    return _result(
        temperature_split,
        ATTENTION,
        f"Temperature split {split:.1f} °F is outside {lo:.0f}-{hi:.0f} °F, which suggests {why}.",
        "Check filter, blower and charge.",
        c,
        SPLIT,
    )


@rule("combustion.air_free_co", 1)
def air_free_co(inputs, c) -> Result | None:
    af = c.values.get(AFCO)
    if af is None:
        return None
    if af >= AIR_FREE_CO_DANGER_PPM:
        return _result(
            air_free_co,
            DANGER,
            f"Dangerous carbon monoxide: {af:.0f} ppm air-free (limit {AIR_FREE_CO_DANGER_PPM:.0f}).",
            "The appliance must be shut off and not used until repaired. Make sure CO alarms work.",
            c,
            AFCO,
        )
    if af > AIR_FREE_CO_SERVICE_PPM:
        return _result(
            air_free_co,
            FAIL,
            f"Carbon monoxide is high: {af:.0f} ppm air-free (over {AIR_FREE_CO_SERVICE_PPM:.0f}).",
            "Clean and adjust the burners and check the gas pressure and venting.",
            c,
            AFCO,
        )
    return _result(
        air_free_co, PASS, f"Carbon monoxide {af:.0f} ppm air-free is acceptable.", "", c, AFCO
    )


@rule("combustion.o2", 1)
def flue_o2(inputs, c) -> Result | None:
    o2 = inputs.get("o2")
    if o2 is None:
        return None
    lo, hi = O2_BAND_PCT
    cite = {"o2_pct": round(o2.value, 1)}
    if lo <= o2.value <= hi:
        return Result(
            "combustion.o2",
            1,
            PASS,
            f"Flue O2 {o2.value:.1f} % is in range.",
            "",
            cite,
            o2.reading_ids,
        )
    return Result(
        "combustion.o2",
        1,
        ATTENTION,
        f"Flue O2 {o2.value:.1f} % is outside {lo:.0f}-{hi:.0f} %: the burner air mix is off.",
        "Adjust the gas pressure and combustion air to the manufacturer's settings.",
        cite,
        o2.reading_ids,
    )


@rule("combustion.ambient_co", 1)
def ambient_co(inputs, c) -> Result | None:
    co: Measured | None = inputs.get("ambient_co")
    if co is None:
        return None
    cite = {"ambient_co_ppm": round(co.value, 1)}
    if co.value >= AMBIENT_CO_DANGER_PPM:
        return Result(
            "combustion.ambient_co", 1, DANGER,
            f"Carbon monoxide in the living space: {co.value:.0f} ppm.",
            "Ventilate and leave the building; shut off fuel-burning appliances until found.",
            cite, co.reading_ids,
        )  # fmt: skip
    if co.value > AMBIENT_CO_ATTENTION_PPM:
        return Result(
            "combustion.ambient_co", 1, ATTENTION,
            f"Ambient carbon monoxide {co.value:.0f} ppm is above the 0-9 ppm expected indoors.",
            "Find the source before further testing.",
            cite, co.reading_ids,
        )  # fmt: skip
    return Result(
        "combustion.ambient_co",
        1,
        PASS,
        f"Ambient CO {co.value:.0f} ppm is normal.",
        "",
        cite,
        co.reading_ids,
    )
