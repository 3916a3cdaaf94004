"""Keep secrets out of the admin, the API, logs and stored error messages."""

from __future__ import annotations

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
