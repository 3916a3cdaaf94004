"""What the rest of comms sees of a messaging vendor: normalized results and the error tree."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from apps.integrations.errors import RejectedError

# Twilio error codes and what they mean for the number (research: comms-payments.md 1.6).
INVALID_NUMBER = {"21211", "21614", "30005"}
LANDLINE_OR_UNREACHABLE = {"30006", "21635"}
OPTED_OUT = {"21610"}
FILTERED = {"30007", "30034"}
TRANSIENT = {"30003", "30008", "30001", "21611"}
UNDELIVERABLE = INVALID_NUMBER | LANDLINE_OR_UNREACHABLE


def retry_allowed(code: str) -> bool:
    """Retrying 21610/21211/30006/30007 only repeats the failure (and 30007 risks more filtering)."""
    return code in TRANSIENT


@dataclasses.dataclass(frozen=True)
class SentMessage:
    provider_id: str
    status: str
    segments: int | None = None
    price: Decimal | None = None


@dataclasses.dataclass(frozen=True)
class PlacedCall:
    provider_id: str
    status: str


class RecipientRefused(RejectedError):
    """The vendor refused this recipient (invalid, opted out, landline): fix the data, not retry."""
