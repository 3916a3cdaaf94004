"""Tracking tokens: opaque, unguessable, valid for a week.

The token is the only credential for a public page, so it must be unforgeable and expire (texts
are often read hours or days later, but not forever). It must also reveal nothing: a signed
payload (django.core.signing) is only base64, and showed the work order's and the business's ids
to anyone holding a link. So the payload (work order id, business id, issue time) is sealed with
AES-256-GCM under a key derived from SECRET_KEY: without the key the token is random bytes, and
any change to it fails authentication. SECRET_KEY_FALLBACKS still open tokens issued before a key
rotation. No row is written per link: texts render links in workers, and a stateless token needs
no clean-up.

Layout (base64url, no padding, 66 characters): version (1 byte) | nonce (12) | sealed payload
(8 + 8 + 4) | tag (16).
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import os
import re
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from apps.core.models import WorkOrder

SALT = "routing.tracking"
DEFAULT_MAX_AGE = dt.timedelta(days=7)
VERSION = b"\x01"
_PAYLOAD = struct.Struct(">QQI")  # work order id, business id, issued at (Unix seconds)
_NONCE_BYTES = 12
_TAG_BYTES = 16
_RAW_BYTES = len(VERSION) + _NONCE_BYTES + _PAYLOAD.size + _TAG_BYTES
TOKEN_CHARS = -(-_RAW_BYTES * 4 // 3)  # base64 without padding: 66
_TOKEN = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_CHARS}}}")


def max_age() -> dt.timedelta:
    return getattr(settings, "ROUTING_TRACKING_MAX_AGE", DEFAULT_MAX_AGE)


@functools.lru_cache(maxsize=8)
def _key(secret: str) -> bytes:
    # A key of its own (HKDF with this purpose's salt), never SECRET_KEY itself.
    return HKDF(algorithm=SHA256(), length=32, salt=SALT.encode(), info=b"token v1").derive(
        secret.encode()
    )


def _secrets() -> list[str]:
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def seal(*, work_order_id: int, business_id: int, issued_at: dt.datetime) -> str:
    """The token for these ids, issued at that moment (token_for uses now)."""
    nonce = os.urandom(_NONCE_BYTES)
    payload = _PAYLOAD.pack(work_order_id, business_id, int(issued_at.timestamp()))
    sealed = AESGCM(_key(settings.SECRET_KEY)).encrypt(nonce, payload, VERSION)
    return base64.urlsafe_b64encode(VERSION + nonce + sealed).rstrip(b"=").decode()


def _open(token: str) -> tuple[int, int, int] | None:
    if not _TOKEN.fullmatch(token):
        return None
    raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    # One spelling per token: the last character's unused bits must be zero.
    if raw[:1] != VERSION or base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != token:
        return None
    nonce, sealed = raw[1 : 1 + _NONCE_BYTES], raw[1 + _NONCE_BYTES :]
    for secret in _secrets():
        try:
            payload = AESGCM(_key(secret)).decrypt(nonce, sealed, VERSION)
        except InvalidTag:
            continue
        return _PAYLOAD.unpack(payload)
    return None


def token_for(work_order: WorkOrder) -> str:
    return seal(
        work_order_id=work_order.pk, business_id=work_order.business_id, issued_at=timezone.now()
    )


def work_order_for_token(token: str) -> WorkOrder | None:
    """The order the token names, or None when it is forged, expired or not that business's."""
    opened = _open(token)
    if opened is None:
        return None
    work_order_id, business_id, issued = opened
    if timezone.now().timestamp() - issued > max_age().total_seconds():
        return None
    # Both ids must agree: a token is only ever good for one order of one business.
    return (
        WorkOrder.objects.filter(pk=work_order_id, business_id=business_id)
        .select_related("business", "location", "assigned_technician__user")
        .first()
    )


def tracking_url_for(work_order: WorkOrder) -> str:
    path = reverse("tracking:page", kwargs={"token": token_for(work_order)})
    return f"{settings.PUBLIC_BASE_URL}{path}"


def tracking_link(*, work_order: WorkOrder, url_format: str = "") -> str:
    """Our page, unless the business set its own URL ({work_order_number}, {tracking_token})."""
    if not url_format:
        return tracking_url_for(work_order)
    return url_format.format(
        work_order_number=work_order.number, tracking_token=token_for(work_order)
    )
