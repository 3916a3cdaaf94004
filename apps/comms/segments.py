"""SMS encoding and segment counting (GSM 03.38), and the clean-up that keeps texts in GSM-7.

One character outside GSM-7 (a smart quote from a word processor, an em dash) turns the whole
text into UCS-2: 70 characters a segment instead of 160, so the same text costs two or three
times as much. We replace the usual look-alikes before counting and sending.
"""

from __future__ import annotations

import dataclasses
import math
from decimal import Decimal

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Escape-prefixed characters: two septets each.
GSM7_EXTENSION = set("^{}\\[~]|€\f")

_NORMALISE = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201a": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2033": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u2026": "...",
    "\u00a0": " ",
    "\u2009": " ",
    "\u200b": "",
    "\u2022": "*",
    "\t": " ",
}


@dataclasses.dataclass(frozen=True)
class SegmentInfo:
    encoding: str  # "GSM-7" or "UCS-2"
    segments: int
    units: int  # septets for GSM-7, UTF-16 code units for UCS-2


def normalise(text: str) -> str:
    return "".join(_NORMALISE.get(ch, ch) for ch in text)


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def segment_info(text: str) -> SegmentInfo:
    if is_gsm7(text):
        units = sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        # Characters outside the Basic Multilingual Plane (most emoji) are two UTF-16 units.
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    if units == 0:
        return SegmentInfo(encoding, 1, 0)
    segments = 1 if units <= single else math.ceil(units / multi)
    return SegmentInfo(encoding, segments, units)


def estimated_cost(info: SegmentInfo, price_per_segment: Decimal) -> Decimal:
    return (price_per_segment * info.segments).quantize(Decimal("0.0001"))
