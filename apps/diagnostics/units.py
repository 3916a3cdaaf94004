"""Units we accept and their conversion to the analysis units. Pure, no Django."""

from __future__ import annotations

UNITS = {
    "psig": "psi gauge",
    "kPa": "kPa gauge",
    "bar": "bar gauge",
    "Pa": "pascal",
    "inHg": "inches of mercury (absolute)",
    "psia": "psi absolute",
    "F": "°F",
    "C": "°C",
    "K": "kelvin (difference)",
    "ppm": "ppm",
    "pct": "%",
    "inWC": "inches of water column",
    "V": "volt",
    "A": "ampere",
}
UNIT_CHOICES = list(UNITS.items())

TEMPERATURES = {
    "suction_line_temp",
    "liquid_line_temp",
    "return_dry_bulb",
    "return_wet_bulb",
    "supply_dry_bulb",
    "supply_wet_bulb",
    "outdoor_dry_bulb",
    "flue_temp",
    "temperature",
}
REFRIGERANT_PRESSURES = {"suction_pressure", "liquid_pressure", "pressure"}
AIR_PRESSURES = {"static_pressure", "draft"}
ALLOWED = {
    **{q: frozenset({"F", "C"}) for q in TEMPERATURES},
    **{q: frozenset({"psig", "kPa", "bar", "Pa"}) for q in REFRIGERANT_PRESSURES},
    **{q: frozenset({"inWC", "Pa"}) for q in AIR_PRESSURES},
    "barometric_pressure": {"psia", "kPa", "inHg", "Pa"},
    "relative_humidity": {"pct"},
    "co": {"ppm"},
    "ambient_co": {"ppm"},
    "o2": {"pct"},
    "co2": {"pct"},
    "voltage": {"V"},
    "amperage": {"A"},
}
CANONICAL = {
    **dict.fromkeys(TEMPERATURES, "F"),
    **dict.fromkeys(REFRIGERANT_PRESSURES, "psig"),
    **dict.fromkeys(AIR_PRESSURES, "inWC"),
    "barometric_pressure": "psia",
}
PSI_KPA = 6.894757293168
INWC_PA = 249.08891


class UnitError(ValueError):
    pass


def check(quantity: str, unit: str) -> None:
    allowed = ALLOWED.get(quantity)
    if allowed is None:
        raise UnitError(f"Unknown quantity {quantity!r}.")
    if unit not in allowed:
        raise UnitError(
            f"{unit!r} is not a unit for {quantity}; use one of {', '.join(sorted(allowed))}."
        )


def to_canonical(quantity: str, value: float, unit: str) -> float:
    check(quantity, unit)
    target = CANONICAL.get(quantity, unit)
    if unit == target:
        return value
    if target == "F":
        return value * 9 / 5 + 32  # from C
    if target == "psig":
        return {"kPa": value / PSI_KPA, "bar": value * 100 / PSI_KPA, "Pa": value / 1000 / PSI_KPA}[
            unit
        ]
    if target == "inWC":
        return value / INWC_PA
    if target == "psia":
        return {"kPa": value / PSI_KPA, "Pa": value / 1000 / PSI_KPA, "inHg": value * 0.4911542}[
            unit
        ]
    raise UnitError(f"No conversion from {unit} for {quantity}.")  # pragma: no cover
