"""Wake the inbox drain after events are stored, without one Celery publish per event.

Per process, at most one immediate publish per interval plus one trailing publish (countdown to
the end of the interval) for events stored while the window was closed. So every stored event
has a drain that starts after its commit, and at 500 events/s a web process publishes at most
2 / interval messages instead of 500. If the broker is down the publish is skipped: the row is
durable and the periodic sweep (the same drain, every minute) finds it.
"""

from __future__ import annotations

import threading
import time

import structlog

from apps.payments import conf

logger = structlog.get_logger(__name__)

_lock = threading.Lock()
_window_end = 0.0  # until then, immediate publishes are coalesced
_trailing_for = 0.0  # the window end a trailing drain is already scheduled for


def drain_nudge() -> None:
    global _window_end, _trailing_for
    now = time.monotonic()
    with _lock:
        if now >= _window_end:
            _window_end = now + conf.webhook_drain_interval_s()
            countdown = 0.0
        elif _trailing_for != _window_end:
            _trailing_for = _window_end
            countdown = _window_end - now
        else:
            return
    from apps.payments.tasks import stripe_inbox_drain_task

    try:
        stripe_inbox_drain_task.apply_async(countdown=countdown or None, queue="urgent")
    except Exception as exc:  # the broker is down: the row is safe, the sweep will run it
        logger.warning("stripe_drain_nudge_failed", error=str(exc))


def reset() -> None:
    """Forget the windows (tests)."""
    global _window_end, _trailing_for
    with _lock:
        _window_end = _trailing_for = 0.0
