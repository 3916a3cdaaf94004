"""Regenerate the saturation tables from CoolProp. Run offline; the output is committed.

    .venv/bin/pip install CoolProp==8.0.0
    .venv/bin/python -m apps.diagnostics.refrigerants.generate

CoolProp is a development tool only: the server and the agent interpolate the committed JSON.
We tabulate T -> P (QT flash) on a 0.5 °F grid rather than P -> T, because the R-454B mixture
model's PQ flash fails at some pressures above ~460 psig while QT flash is robust; the few grid
temperatures where QT fails too (R-454B at ~134-149 °F) are skipped and interpolated across.
"""

from __future__ import annotations

import json
from pathlib import Path

# Our refrigerant codes (core.Refrigerant) -> CoolProp fluid names.
FLUIDS = {
    "R-410A": "R410A",
    "R-32": "R32",
    "R-454B": "R454B.mix",
    "R-22": "R22",
    "R-134a": "R134a",
    "R-407C": "R407C",
}
T_MIN_F, T_MAX_F, STEP_F = -60.0, 150.0, 0.5
DATA_DIR = Path(__file__).parent / "data"


def _k(temp_f: float) -> float:
    return (temp_f - 32.0) * 5.0 / 9.0 + 273.15


def table_for(code: str) -> dict:
    import CoolProp
    import CoolProp.CoolProp as CP

    fluid = FLUIDS[code]
    steps = round((T_MAX_F - T_MIN_F) / STEP_F)
    sides: dict[str, list[list[float]]] = {"dew": [], "bubble": []}
    skipped: dict[str, list[float]] = {"dew": [], "bubble": []}
    for i in range(steps + 1):
        temp_f = T_MIN_F + i * STEP_F
        for side, quality in (("dew", 1), ("bubble", 0)):
            try:
                pa = CP.PropsSI("P", "T", _k(temp_f), "Q", quality, fluid)
            except ValueError:
                skipped[side].append(temp_f)
                continue
            sides[side].append([temp_f, round(pa / 1000.0, 5)])  # kPa absolute
    return {
        "refrigerant": code,
        "source": f"CoolProp {CoolProp.__version__} fluid {fluid}",
        "units": {"temperature": "degF", "pressure": "kPa absolute"},
        "dew": sides["dew"],
        "bubble": sides["bubble"],
        "skipped_temperatures_f": skipped,
    }


def main() -> None:
    DATA_DIR.mkdir(exist_ok=True)
    for code in FLUIDS:
        table = table_for(code)
        path = DATA_DIR / f"{code}.json"
        path.write_text(json.dumps(table, separators=(",", ":")) + "\n")
        print(f"{path.name}: {len(table['dew'])} dew, {len(table['bubble'])} bubble points")


if __name__ == "__main__":
    main()
