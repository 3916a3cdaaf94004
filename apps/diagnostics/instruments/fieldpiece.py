"""Fieldpiece Job Link probes (JL3*), SMAN manifolds, CAT45 combustion analysers.

No public BLE specification or reverse-engineered format exists (research notes §2.4). The driver
is registered so these devices are recognised by name and listed as "known, not yet decodable";
fill in `decode` and set `supported = True` once the format is captured (HCI snoop, legal review).
"""

from __future__ import annotations

import re

from apps.diagnostics.instruments.base import Advertisement, DecodedValue, Driver, registry

NAME = re.compile(r"^(JL\d|SMAN|CAT45|Fieldpiece)", re.IGNORECASE)


class FieldpieceDriver(Driver):
    family = "fieldpiece"
    label = "Fieldpiece (format not yet known)"
    supported = False

    def matches(self, adv: Advertisement) -> bool:
        return bool(adv.name and NAME.match(adv.name))

    def decode(self, characteristic: str, data: bytes) -> list[DecodedValue]:
        return [DecodedValue("raw", None, "", known=False)]


registry.register(FieldpieceDriver())
