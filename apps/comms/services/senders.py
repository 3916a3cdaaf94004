"""Choosing the number a text goes out from, and pacing each number at its messages per second."""

from __future__ import annotations

import contextlib
import zlib
from decimal import Decimal

from apps.comms.models import SenderNumber, TemplateKind
from apps.integrations.errors import NotConfigured
from apps.integrations.providers import RateLimitPolicy
from apps.integrations.ratelimit import Limiter

R = SenderNumber.Role


def sender_pool(*, business) -> list[SenderNumber]:
    """The main line's numbers, in a fixed order so the recipient hash keeps pointing at one."""
    return list(
        SenderNumber.objects.filter(business=business, active=True, role=R.MAIN)
        .select_related("connection")
        .order_by("pk")
    )


def pool_pick(pool: list[SenderNumber], recipient: str) -> SenderNumber:
    return pool[zlib.crc32(recipient.encode()) % len(pool)]


def sender_pick(*, business, kind: str, recipient: str, technician=None) -> SenderNumber:
    """Emergency line for emergencies, a technician's own number for dispatch, else the main pool.

    Within the pool the number is chosen by a hash of the recipient, so one customer always hears
    from the same number (threads stay together on their phone, opt-outs per number line up).
    """
    active = SenderNumber.objects.filter(business=business, active=True).select_related(
        "connection"
    )
    preferred = []
    if kind == TemplateKind.EMERGENCY_RESPONSE:
        preferred = list(active.filter(role=R.EMERGENCY))
    elif kind in (TemplateKind.TECHNICIAN_DISPATCH, TemplateKind.TECHNICIAN_ROUTE):
        preferred = list(active.filter(role=R.TECHNICIAN, technician=technician)) or list(
            active.filter(role=R.TECHNICIAN, technician__isnull=True)
        )
    pool = preferred or sender_pool(business=business)
    if not pool:
        raise NotConfigured(
            f"{business.name} has no active Twilio sender number; add one under Comms > Senders."
        )
    return pool_pick(pool, recipient)


def sender_limiter(sender: SenderNumber, *, max_wait: float = 10.0) -> Limiter:
    mps = max(Decimal("0.01"), sender.messages_per_second)
    # A window of one second holding `mps` hits; fractional rates widen the window instead.
    window = (int(mps), 1.0) if mps >= 1 else (1, float(1 / mps))
    policy = RateLimitPolicy(windows=(window,))
    return Limiter(f"sms-sender:{sender.pk}", policy, max_wait=max_wait)


@contextlib.contextmanager
def sender_paced(sender: SenderNumber, *, segments: int = 1, max_wait: float = 10.0):
    """Hold the number's slots for one text. Twilio meters per segment, so a three-segment text
    takes three of the number's slots (the wait for all of them is bounded by max_wait each)."""
    limiter = sender_limiter(sender, max_wait=max_wait)
    with contextlib.ExitStack() as stack:
        for _ in range(max(1, segments)):
            stack.enter_context(limiter.slot())
        yield
