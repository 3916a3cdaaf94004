"""Keep secrets out of the admin, the API, logs and stored error messages."""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "••••"


def mask_secret(value: object) -> str:
    """Show only enough to recognise a secret: the last four characters of a long one."""
    text = "" if value is None else str(value)
    if not text:
        return ""
    if len(text) <= 8:
        return MASK
    return f"{MASK}{text[-4:]}"


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of every secret (longest first, so none is half-replaced)."""
    for secret in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, mask_secret(secret))
    return text


# Paths whose last segment is a bearer credential (the customer's tracking link): request logs
# would otherwise keep a working link for every visit.
_TOKEN_PATHS = re.compile(r"(/track/)[^/\s'\"?]+")


def mask_url_tokens(text: str) -> str:
    return _TOKEN_PATHS.sub(rf"\g<1>{MASK}", text) if "/track/" in text else text


def redact_url_tokens(logger: object, method_name: str, event_dict: dict) -> dict:
    """structlog processor: mask tokens carried in URL paths in every string field."""
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = mask_url_tokens(value)
    return event_dict
