"""Refrigerant saturation, charge targets and combustion arithmetic. Pure functions, no Django.

Saturation comes from the committed CoolProp tables in refrigerants/data (T -> P on a 0.5 °F grid,
kPa absolute), inverted by linear interpolation: no CoolProp at run time, and no R-454B solver
failures. Gauge pressures become absolute with the job's barometric pressure, so a reading taken
in Denver (about 12.1 psia) is not read as if at sea level.
"""

from __future__ import annotations

import json
import math
from bisect import bisect_left
from functools import cache
from pathlib import Path

PSI_KPA = 6.894757293168
SEA_LEVEL_PSIA = 14.695949
DATA_DIR = Path(__file__).parent / "refrigerants" / "data"
REFRIGERANTS = ("R-410A", "R-32", "R-454B", "R-22", "R-134a", "R-407C")
DEW, BUBBLE = "dew", "bubble"


class OutOfRange(ValueError):
    """A pressure outside the table (below -60 °F or above 150 °F saturation), or an unknown fluid."""


@cache
def _table(refrigerant: str, side: str) -> tuple[list[float], list[float]]:
    if refrigerant not in REFRIGERANTS:
        raise OutOfRange(f"No saturation table for refrigerant {refrigerant!r}.")
    data = json.loads((DATA_DIR / f"{refrigerant}.json").read_text())
    points = data[side]
    return [p for _, p in points], [t for t, _ in points]


def saturation_temp_f(
    refrigerant: str, psig: float, *, side: str, barometric_psia: float = SEA_LEVEL_PSIA
) -> float:
    """Saturation temperature (°F) at a gauge pressure: dew for superheat, bubble for subcooling."""
    if side not in (DEW, BUBBLE):
        raise ValueError(f"side must be {DEW!r} or {BUBBLE!r}")
    pressures, temps = _table(refrigerant, side)
    kpa = (float(psig) + float(barometric_psia)) * PSI_KPA
    if not pressures[0] <= kpa <= pressures[-1]:
        raise OutOfRange(
            f"{psig} psig is outside the {refrigerant} table "
            f"({pressures[0] / PSI_KPA - barometric_psia:.1f} to "
            f"{pressures[-1] / PSI_KPA - barometric_psia:.1f} psig)."
        )
    i = max(1, bisect_left(pressures, kpa))
    p0, p1, t0, t1 = pressures[i - 1], pressures[i], temps[i - 1], temps[i]
    return t0 + (t1 - t0) * (kpa - p0) / (p1 - p0)


def saturation_psig(
    refrigerant: str, temp_f: float, *, side: str, barometric_psia: float = SEA_LEVEL_PSIA
) -> float:
    """The reverse lookup, for charts and tests."""
    pressures, temps = _table(refrigerant, side)
    if not temps[0] <= temp_f <= temps[-1]:
        raise OutOfRange(f"{temp_f} °F is outside the {refrigerant} table.")
    i = max(1, bisect_left(temps, temp_f))
    t0, t1, p0, p1 = temps[i - 1], temps[i], pressures[i - 1], pressures[i]
    kpa = p0 + (p1 - p0) * (temp_f - t0) / (t1 - t0)
    return kpa / PSI_KPA - barometric_psia


def superheat_f(refrigerant, suction_psig, suction_line_f, *, barometric_psia=SEA_LEVEL_PSIA):
    sat = saturation_temp_f(refrigerant, suction_psig, side=DEW, barometric_psia=barometric_psia)
    return float(suction_line_f) - sat


def subcooling_f(refrigerant, liquid_psig, liquid_line_f, *, barometric_psia=SEA_LEVEL_PSIA):
    sat = saturation_temp_f(refrigerant, liquid_psig, side=BUBBLE, barometric_psia=barometric_psia)
    return sat - float(liquid_line_f)


def target_superheat_f(indoor_wet_bulb_f: float, outdoor_dry_bulb_f: float) -> float | None:
    """Fixed-orifice target superheat, (3·IWB - 80 - ODB) / 2 (acservicetech; within about ±2.5 °F
    of OEM charts). None where the charts print "-": below 5 °F, or outdoor air under 55 °F, where
    the charge must be weighed in instead (Title 24 RA3.2.2)."""
    if float(outdoor_dry_bulb_f) < 55:
        return None
    target = (3 * float(indoor_wet_bulb_f) - 80 - float(outdoor_dry_bulb_f)) / 2
    return target if target >= 5 else None


def temperature_split_f(return_dry_bulb_f: float, supply_dry_bulb_f: float) -> float:
    return float(return_dry_bulb_f) - float(supply_dry_bulb_f)


def air_free_co_ppm(co_ppm: float, o2_pct: float) -> float:
    """CO corrected to zero excess air: CO x 20.9 / (20.9 - O2)."""
    o2 = float(o2_pct)
    if not 0 <= o2 < 20.9:
        raise ValueError("O2 must be between 0 and 20.9 % to compute air-free CO.")
    return float(co_ppm) * 20.9 / (20.9 - o2)


def psia_from_kpa(kpa: float) -> float:
    return float(kpa) / PSI_KPA


def _pws_pa(temp_c: float) -> float:
    """Saturation vapour pressure (ASHRAE Handbook 2017, Hyland-Wexler)."""
    t = temp_c + 273.15
    if temp_c >= 0:
        c = (-5.8002206e3, 1.3914993, -4.8640239e-2, 4.1764768e-5, -1.4452093e-8, 6.5459673)
        return math.exp(c[0] / t + c[1] + c[2] * t + c[3] * t**2 + c[4] * t**3 + c[5] * math.log(t))
    c = (
        -5.6745359e3,
        6.3925247,
        -9.677843e-3,
        6.2215701e-7,
        2.0747825e-9,
        -9.484024e-13,
        4.1635019,
    )
    return math.exp(
        c[0] / t + c[1] + c[2] * t + c[3] * t**2 + c[4] * t**3 + c[5] * t**4 + c[6] * math.log(t)
    )


def wet_bulb_f(
    dry_bulb_f: float, rh_pct: float, *, barometric_psia: float = SEA_LEVEL_PSIA
) -> float:
    """Thermodynamic wet bulb from dry bulb and relative humidity (ASHRAE psychrometric
    equations, solved by bisection), so a probe that reports temperature and humidity is enough
    for the fixed-orifice target superheat."""
    rh = float(rh_pct) / 100
    if not 0 < rh <= 1:
        raise ValueError("Relative humidity must be between 0 and 100 %.")
    p = float(barometric_psia) * PSI_KPA * 1000
    t = (float(dry_bulb_f) - 32) * 5 / 9
    pw = rh * _pws_pa(t)
    w = 0.621945 * pw / (p - pw)

    def w_from_wet_bulb(tw: float) -> float:
        ws = 0.621945 * _pws_pa(tw) / (p - _pws_pa(tw))
        if tw >= 0:
            return ((2501 - 2.326 * tw) * ws - 1.006 * (t - tw)) / (2501 + 1.86 * t - 4.186 * tw)
        return ((2830 - 0.24 * tw) * ws - 1.006 * (t - tw)) / (2830 + 1.86 * t - 2.1 * tw)

    lo, hi = t - 40, t
    for _ in range(60):
        mid = (lo + hi) / 2
        if w_from_wet_bulb(mid) > w:
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2 * 9 / 5 + 32
