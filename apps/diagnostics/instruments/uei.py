"""UEi Hub-connected tools (DL599, HUB, ...).

No public BLE specification or reverse-engineered format exists (research notes §2.4). The driver
is registered so these devices are recognised by name and listed as "known, not yet decodable";
fill in `decode` and set `supported = True` once the format is captured (HCI snoop, legal review).
"""

from __future__ import annotations

import re

from apps.diagnostics.instruments.base import Advertisement, DecodedValue, Driver, registry

NAME = re.compile(r"^(UEi|DL\d{3}|HUB)", re.IGNORECASE)


class UeiDriver(Driver):
    family = "uei"
    label = "UEi (format not yet known)"
    supported = False

    def matches(self, adv: Advertisement) -> bool:
        return bool(adv.name and NAME.match(adv.name))

    def decode(self, characteristic: str, data: bytes) -> list[DecodedValue]:
        return [DecodedValue("raw", None, "", known=False)]


registry.register(UeiDriver())
