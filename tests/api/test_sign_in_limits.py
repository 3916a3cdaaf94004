"""Password guessing on every way in (API token, allauth's login page, the admin's login), and the
proxy rule that decides which address a limit counts against (apps/core/net.py)."""

from __future__ import annotations

import time
import types

import pytest
from django.conf import settings
from django.test import Client, override_settings
from rest_framework.test import APIClient

from apps.core.services import sign_in
from tests import factories as f

TOKEN_URL = "/api/v1/auth/token/"
LOGIN_URL = "/accounts/login/"
STRANGER = "198.51.100.66"
VAN = "203.0.113.10"
GOOD = "correct-horse-battery"


def behind_proxies(count: int):
    return override_settings(
        NUM_PROXIES=count,
        ALLAUTH_TRUSTED_PROXY_COUNT=count,
        REST_FRAMEWORK={**settings.REST_FRAMEWORK, "NUM_PROXIES": count},
    )


def token_attempt(username: str, password: str, address: str = STRANGER, **headers):
    return APIClient().post(
        TOKEN_URL,
        {"username": username, "password": password},
        format="json",
        REMOTE_ADDR=address,
        **headers,
    )


def page_attempt(username: str, password: str, address: str = STRANGER):
    return Client().post(LOGIN_URL, {"login": username, "password": password}, REMOTE_ADDR=address)


@pytest.fixture
def clock(monkeypatch):
    """The lockout's clock, moved by hand (only the lockout's: the rest of the world is real)."""
    now = [time.time()]
    fake = types.SimpleNamespace(time=lambda: now[0], monotonic=time.monotonic, sleep=time.sleep)
    monkeypatch.setattr(sign_in, "time", fake)
    return now


# --- Which address: X-Forwarded-For only behind configured proxies -------------------------------


def test_made_up_forwarded_for_headers_do_not_escape_the_limit_without_proxies(db):
    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == 0
    # A different unknown name each time, so only the per-address limits are at work.
    statuses = [
        token_attempt(f"nobody{i}", "guess", HTTP_X_FORWARDED_FOR=f"10.1.{i}.{i}").status_code
        for i in range(25)
    ]

    assert 429 in statuses
    first = statuses.index(429)
    assert first <= 20 and set(statuses[first:]) == {429}


def test_behind_one_proxy_only_the_address_it_wrote_counts(db):
    with behind_proxies(1):
        # The client prepends made-up entries; our proxy appends the address it saw.
        spoofed = [
            token_attempt(
                f"nobody{i}", "guess", address="10.0.0.2", HTTP_X_FORWARDED_FOR=f"1.2.3.{i}, {VAN}"
            ).status_code
            for i in range(25)
        ]
        assert 429 in spoofed

        # Real different clients behind the same proxy are different addresses.
        distinct = [
            token_attempt(
                f"someone{i}", "guess", address="10.0.0.2", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}"
            ).status_code
            for i in range(25)
        ]
        assert set(distinct) == {400}


# --- Per-account lockout ---------------------------------------------------------------------------


def test_an_account_locks_after_five_failures_and_the_lock_expires(technician, clock):
    username = technician.user.username
    failures = [token_attempt(username, f"guess{i}").status_code for i in range(sign_in.LIMIT)]
    assert failures == [400] * sign_in.LIMIT

    locked = token_attempt(username, GOOD)  # even the right password is not checked
    assert locked.status_code == 429
    assert locked.json()["code"] == "throttled"
    assert 0 < int(locked["Retry-After"]) <= sign_in.WINDOW_SECONDS + 1

    clock[0] += sign_in.WINDOW_SECONDS + 1
    assert token_attempt(username, GOOD).status_code == 200


def test_attempts_while_locked_do_not_prolong_the_lock(technician, clock):
    username = technician.user.username
    for i in range(sign_in.LIMIT):
        token_attempt(username, f"guess{i}")
    for _ in range(3):  # the stranger keeps hammering through the lockout
        clock[0] += 60
        assert token_attempt(username, "more-guessing").status_code == 429

    clock[0] += sign_in.WINDOW_SECONDS - 3 * 60 + 1
    assert token_attempt(username, GOOD).status_code == 200


def test_the_honest_user_from_another_address_is_not_locked_out(technician, clock):
    username = technician.user.username
    for i in range(sign_in.LIMIT + 2):
        token_attempt(username, f"guess{i}", address=STRANGER)
    assert token_attempt(username, GOOD, address=STRANGER).status_code == 429

    # The technician, from the van: signs in, and that clears the account's failures.
    assert token_attempt(username, GOOD, address=VAN).status_code == 200
    assert token_attempt(username, "one-more-guess", address=STRANGER).status_code == 400


def test_a_new_address_that_fails_while_locked_is_locked_too(technician):
    username = technician.user.username
    for i in range(sign_in.LIMIT):
        token_attempt(username, f"guess{i}", address=STRANGER)

    assert token_attempt(username, "guess", address="192.0.2.77").status_code == 400
    assert token_attempt(username, GOOD, address="192.0.2.77").status_code == 429


def test_guessing_from_many_addresses_locks_everyone_until_the_window_passes(technician, clock):
    username = technician.user.username
    for i in range(sign_in.HARD_LIMIT):
        assert token_attempt(username, "guess", address=f"10.9.{i}.1").status_code in (400, 429)

    assert token_attempt(username, GOOD, address=VAN).status_code == 429
    clock[0] += sign_in.WINDOW_SECONDS + 1
    assert token_attempt(username, GOOD, address=VAN).status_code == 200


def test_an_unknown_name_is_locked_like_a_real_one(db):
    # No difference an attacker could use to tell which accounts exist.
    statuses = [token_attempt("no-such-user", f"g{i}").status_code for i in range(6)]
    assert statuses == [400] * 5 + [429]


def test_the_email_and_the_username_are_one_account(technician):
    user = technician.user
    user.email = "tech@example.com"
    user.save(update_fields=["email"])
    for i in range(3):
        token_attempt(user.username, f"guess{i}")
    for i in range(2):
        page_attempt("TECH@example.com", f"guess{i}")

    assert token_attempt(user.username, GOOD).status_code == 429


# --- The login page and the admin share the rule -----------------------------------------------


def test_the_login_page_locks_the_account_and_spares_the_van(technician):
    username = technician.user.username
    for i in range(sign_in.LIMIT):
        assert page_attempt(username, f"guess{i}").status_code == 200  # the form, with an error

    locked = page_attempt(username, GOOD)
    assert locked.status_code == 200 and "_auth_user_id" not in locked.client.session
    assert "Too many failed login attempts" in locked.content.decode()

    from_van = page_attempt(username, GOOD, address=VAN)
    assert from_van.status_code == 302
    assert from_van.client.session["_auth_user_id"] == str(technician.user.pk)


def test_failures_on_the_api_lock_the_admin_login_too(dispatcher):
    for i in range(sign_in.LIMIT):
        token_attempt(dispatcher.username, f"guess{i}")

    # The admin's login form is allauth's.
    admin_login = Client().get("/admin/login/", REMOTE_ADDR=STRANGER)
    assert admin_login.status_code == 302 and admin_login["Location"].startswith(LOGIN_URL)
    page = page_attempt(dispatcher.username, GOOD)
    assert "Too many failed login attempts" in page.content.decode()


def test_an_administrator_can_clear_a_lockout(technician, dispatcher, business):
    username = technician.user.username
    for i in range(sign_in.LIMIT):
        token_attempt(username, f"guess{i}")
    assert token_attempt(username, GOOD).status_code == 429

    owner = f.UserFactory(business=business, role="owner", is_staff=True, is_superuser=True)
    admin = Client()
    admin.force_login(owner)
    response = admin.post(
        "/admin/core/user/",
        {"action": "clear_sign_in_lockout", "_selected_action": [technician.user.pk]},
        follow=True,
    )

    assert "Sign-in lockout cleared for 1 user(s)." in response.content.decode()
    assert token_attempt(username, GOOD).status_code == 200
