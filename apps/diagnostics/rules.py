"""Diagnostic rules. Pure functions over measured values, so they are testable without a database.

Every rule has an id and a version; bump the version whenever its thresholds or logic change, so a
stored finding can always be traced to the logic that produced it. Faults are patterns (measured
against *targets*, not absolutes), after the NCI / refrigeration-engineer superheat-subcooling
tables and measureQuick's minor/major fault grouping (research notes §4).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from apps.diagnostics import thermo

PASS, ATTENTION, FAIL, DANGER = "pass", "attention", "fail", "danger"
LOW, OK, HIGH = "low", "ok", "high"

SUPERHEAT_TOLERANCE_F = 5.0  # Title 24 RA3.2.2.6 installer tolerance
SUBCOOL_TOLERANCE_F = 3.0  # Title 24 RA3.2.2.5 / ICP "±3 °F"
DEFAULT_TARGET_SUBCOOL_F = 10.0  # the common 8-12 °F field band, when the nameplate is unknown
TXV_SUPERHEAT_BAND_F = (5.0, 20.0)  # a TXV holding superheat outside this is starved or flooding
SPLIT_BAND_F = (14.0, 23.0)  # HVAC School: "generally 14-23 °F"
CONDENSER_APPROACH_MAX_F = 30.0  # standard-efficiency condensers run 15-30 °F over outdoor air
AIR_FREE_CO_SERVICE_PPM = 100.0  # NCI/BPI field practice
AIR_FREE_CO_DANGER_PPM = 400.0  # ANSI Z21.47 furnace design limit: shut down / red-tag
O2_BAND_PCT = (4.0, 10.0)
AMBIENT_CO_ATTENTION_PPM = 9.0
AMBIENT_CO_DANGER_PPM = 35.0  # NIOSH ceiling for an occupied space


@dataclass(frozen=True)
class Measured:
    value: float  # canonical unit
    reading_ids: tuple[int, ...] = ()


@dataclass
class Inputs:
    values: dict[str, Measured]
    refrigerant: str = ""
    metering: str = ""  # "fixed", "txv" or unknown
    target_subcool_f: float | None = None
    barometric_psia: float = thermo.SEA_LEVEL_PSIA

    def get(self, quantity: str) -> Measured | None:
        return self.values.get(quantity)


@dataclass
class Computed:
    """Derived values with the reading ids each one rests on."""

    values: dict[str, float] = field(default_factory=dict)
    cites: dict[str, tuple[int, ...]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def put(self, name: str, value: float | None, *cites: Measured) -> None:
        if value is None:
            return
        self.values[name] = round(value, 1)
        self.cites[name] = tuple(sorted({i for m in cites for i in m.reading_ids}))

    def ids(self, *names: str) -> tuple[int, ...]:
        return tuple(sorted({i for n in names for i in self.cites.get(n, ())}))


@dataclass(frozen=True)
class Result:
    rule_id: str
    rule_version: int
    severity: str
    message: str
    recommendation: str
    measured: dict
    reading_ids: tuple[int, ...]


def compute(inputs: Inputs) -> Computed:
    c = Computed()
    ref, baro = inputs.refrigerant, inputs.barometric_psia
    sp, st = inputs.get("suction_pressure"), inputs.get("suction_line_temp")
    lp, lt = inputs.get("liquid_pressure"), inputs.get("liquid_line_temp")
    try:
        if ref and sp and st:
            c.put(
                "superheat_f",
                thermo.superheat_f(ref, sp.value, st.value, barometric_psia=baro),
                sp,
                st,
            )
        if ref and lp and lt:
            c.put(
                "subcooling_f",
                thermo.subcooling_f(ref, lp.value, lt.value, barometric_psia=baro),
                lp,
                lt,
            )
        odb = inputs.get("outdoor_dry_bulb")
        if ref and lp and odb:
            sat = thermo.saturation_temp_f(ref, lp.value, side=thermo.BUBBLE, barometric_psia=baro)
            c.put("condenser_approach_f", sat - odb.value, lp, odb)
    except thermo.OutOfRange as exc:
        c.notes.append(str(exc))
    iwb, odb = inputs.get("return_wet_bulb"), inputs.get("outdoor_dry_bulb")
    rdb_, rh = inputs.get("return_dry_bulb"), inputs.get("relative_humidity")
    if iwb is None and rdb_ and rh and 0 < rh.value <= 100:
        # Probes report dry bulb + RH (return air); derive the wet bulb the target needs.
        wb = thermo.wet_bulb_f(rdb_.value, rh.value, barometric_psia=baro)
        c.put("return_wet_bulb_f", wb, rdb_, rh)
        iwb = Measured(wb, tuple(sorted(set(rdb_.reading_ids) | set(rh.reading_ids))))
    if iwb and odb and inputs.metering != "txv":
        c.put("target_superheat_f", thermo.target_superheat_f(iwb.value, odb.value), iwb, odb)
    if inputs.metering == "txv" or inputs.target_subcool_f is not None:
        target = inputs.target_subcool_f or DEFAULT_TARGET_SUBCOOL_F
        c.values["target_subcooling_f"] = float(target)
    rdb, sdb = inputs.get("return_dry_bulb"), inputs.get("supply_dry_bulb")
    if rdb and sdb:
        c.put("temperature_split_f", thermo.temperature_split_f(rdb.value, sdb.value), rdb, sdb)
    co, o2 = inputs.get("co"), inputs.get("o2")
    if co and o2 and 0 <= o2.value < 20.9:
        c.put("air_free_co_ppm", thermo.air_free_co_ppm(co.value, o2.value), co, o2)
    return c


def superheat_status(c: Computed) -> str | None:
    sh = c.values.get("superheat_f")
    if sh is None:
        return None
    target = c.values.get("target_superheat_f")
    if target is not None:
        diff = sh - target
        return (
            HIGH if diff > SUPERHEAT_TOLERANCE_F else LOW if diff < -SUPERHEAT_TOLERANCE_F else OK
        )
    lo, hi = TXV_SUPERHEAT_BAND_F
    return HIGH if sh > hi else LOW if sh < lo else OK


def subcooling_status(c: Computed) -> str | None:
    sc = c.values.get("subcooling_f")
    if sc is None:
        return None
    target = c.values.get("target_subcooling_f", DEFAULT_TARGET_SUBCOOL_F)
    diff = sc - target
    return HIGH if diff > SUBCOOL_TOLERANCE_F else LOW if diff < -SUBCOOL_TOLERANCE_F else OK


Rule = Callable[[Inputs, Computed], "Result | None"]
RULES: list[tuple[str, int, Rule]] = []


def rule(rule_id: str, version: int):
    def register(fn: Rule) -> Rule:
        RULES.append((rule_id, version, fn))
        fn.rule_id, fn.rule_version = rule_id, version
        return fn

    return register


def _result(fn, severity, message, recommendation, c: Computed, *names: str) -> Result:
    return Result(
        rule_id=fn.rule_id,
        rule_version=fn.rule_version,
        severity=severity,
        message=message,
        recommendation=recommendation,
        measured={n: c.values[n] for n in names if n in c.values},
        reading_ids=c.ids(*names),
    )


def rules_version() -> str:
    """A fingerprint of the rule set, printed on reports so old reports stay reproducible."""
    from apps.diagnostics import rule_set  # noqa: F401  (registers the rules)

    listing = ",".join(f"{rid}@{ver}" for rid, ver, _ in sorted(RULES, key=lambda r: r[0]))
    return f"{len(RULES)} rules sha256:{hashlib.sha256(listing.encode()).hexdigest()[:10]}"


def evaluate(inputs: Inputs) -> tuple[Computed, list[Result]]:
    from apps.diagnostics import rule_set  # noqa: F401  (registers the rules)

    computed = compute(inputs)
    results = [r for _, _, fn in RULES if (r := fn(inputs, computed)) is not None]
    return computed, results
