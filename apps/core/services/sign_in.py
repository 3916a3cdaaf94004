"""Per-account sign-in lockout, shared by every way in: the API's token endpoint, allauth's login
page and the admin (whose login is allauth's). Both call it through our allauth adapter
(apps/core/auth.py), so there is one rule. docs/deployment.md ("Sign-in limits") states it.

The rule, per account (the login name or email resolved to the user; an unknown name is keyed on
itself, so a lockout does not tell whether an account exists):

- LIMIT failed sign-ins within WINDOW lock the account for the addresses those failures came
  from. An address with no failure for it still gets its try: a technician whose account a
  stranger is guessing at signs in from the van as usual.
- HARD_LIMIT failures within WINDOW (guessing from many addresses) lock it for every address.
- A lockout expires by itself: failures older than WINDOW no longer count, and attempts refused
  while locked are not counted, so the stranger cannot prolong it by hammering.
- A successful sign-in clears the account's failures; so does an administrator (the admin's
  "Clear sign-in lockout" action on users).

Failures live in the cache (Redis in production, shared by every process), like allauth's own
rate limits; per-address limits (allauth's 10 failures a minute, the API's throttle) come first.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Q
from django.http import HttpRequest

from apps.core.net import client_address

LIMIT = 5
HARD_LIMIT = 50
WINDOW_SECONDS = 15 * 60
LOCK_SECONDS = 5  # how long one read-modify-write may hold the account's record


@dataclass(frozen=True)
class Lockout:
    retry_after: int  # seconds until this address may try again


def _account_key(login: str) -> str:
    login = (login or "").strip()
    if login:
        user_id = (
            get_user_model()
            .objects.filter(Q(username=login) | Q(email__iexact=login))
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
        if user_id is not None:
            return _user_key(user_id)
    digest = hashlib.sha256(login.lower().encode()).hexdigest()
    return f"signin:failures:login:{digest}"


def _user_key(user_id: int) -> str:
    return f"signin:failures:user:{user_id}"


def _recent(failures: list[tuple[float, str]], now: float) -> list[tuple[float, str]]:
    return sorted((f for f in failures if f[0] > now - WINDOW_SECONDS), reverse=True)


def sign_in_lockout_get(*, request: HttpRequest, login: str) -> Lockout | None:
    """The lockout this address is under for this account, or None if it may try."""
    now = time.time()
    failures = _recent(cache.get(_account_key(login), []), now)
    if len(failures) >= HARD_LIMIT:
        return Lockout(retry_after=_until_below(failures, HARD_LIMIT, now))
    address = client_address(request)
    mine = [at for at, where in failures if where == address]
    if len(failures) >= LIMIT and mine:
        # Free again when the account drops below the limit or this address's failures age out.
        ends = min(_until_below(failures, LIMIT, now), int(mine[0] + WINDOW_SECONDS - now) + 1)
        return Lockout(retry_after=max(1, ends))
    return None


def _until_below(failures: list[tuple[float, str]], limit: int, now: float) -> int:
    return max(1, int(failures[limit - 1][0] + WINDOW_SECONDS - now) + 1)


def sign_in_failure_record(*, request: HttpRequest, login: str) -> None:
    key = _account_key(login)
    lock = f"{key}:lock"
    # A lock so that a burst of parallel guesses cannot all read the same short list; if it
    # cannot be had the failure is still written (at worst one concurrent write is lost).
    deadline = time.monotonic() + 1
    while not cache.add(lock, 1, timeout=LOCK_SECONDS) and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        now = time.time()
        failures = _recent(cache.get(key, []), now)
        failures.insert(0, (now, client_address(request)))
        cache.set(key, failures[:HARD_LIMIT], WINDOW_SECONDS)
    finally:
        cache.delete(lock)


def sign_in_success_record(*, user_id: int) -> None:
    """The real user proved the password: earlier failures, and any lockout, are forgotten."""
    cache.delete(_user_key(user_id))


def sign_in_lockout_clear(*, user_id: int) -> None:
    """An administrator lifts an account's lockout."""
    cache.delete(_user_key(user_id))
