"""Instrument profiles: pure decoders, one module per family, behind one interface (base.py).

No Django and no bleak imports here, so the edge agent and the tests use them as they are.
"""

from apps.diagnostics.instruments import ess, fieldpiece, testo, uei  # noqa: F401
from apps.diagnostics.instruments.base import (
    Advertisement,
    DecodedValue,
    Driver,
    DriverRegistry,
    registry,
)

__all__ = ["Advertisement", "DecodedValue", "Driver", "DriverRegistry", "registry"]
