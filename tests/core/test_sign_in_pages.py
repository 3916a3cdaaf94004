"""The sign-in pages (allauth) look like the product and never offer a sign-up that is closed."""

import re

import pytest
from django.urls import reverse

from tests import factories as f

PAGES_SIGNED_OUT = ["account_login", "account_reset_password", "account_signup"]
PAGES_SIGNED_IN = ["account_change_password", "mfa_index", "account_logout"]


def assert_product_page(body: str) -> None:
    assert "Thorbis Integrations Hub" in body
    assert "/static/admin/css/base.css" in body and "/static/thorbis/auth.css" in body
    # Ready for a strict Content-Security-Policy: no inline styles or scripts.
    assert " style=" not in body
    assert not re.search(r"<script(?![^>]*\bsrc=)", body)


def test_login_page_is_styled_and_offers_no_sign_up(client, db):
    body = client.get(reverse("account_login")).content.decode()
    assert_product_page(body)
    assert 'class="login thorbis-auth"' in body
    assert reverse("account_signup") not in body
    assert "sign up" not in body.lower()
    assert "Accounts are created by your company's administrator." in body


def test_the_sign_up_link_appears_only_when_sign_up_is_open(client, db, settings):
    settings.ACCOUNT_ADAPTER = "allauth.account.adapter.DefaultAccountAdapter"
    body = client.get(reverse("account_login")).content.decode()
    assert f'href="{reverse("account_signup")}"' in body


@pytest.mark.parametrize("name", PAGES_SIGNED_OUT)
def test_signed_out_account_pages_share_the_look(client, db, name):
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert_product_page(response.content.decode())


@pytest.mark.parametrize("name", PAGES_SIGNED_IN)
def test_signed_in_account_pages_share_the_look(client, dispatcher, name):
    client.force_login(dispatcher)
    response = client.get(reverse(name))
    assert response.status_code == 200
    body = response.content.decode()
    assert_product_page(body)
    assert reverse("admin:index") in body and reverse("account_logout") in body


def test_signing_in_through_the_styled_form_still_works(client, business):
    user = f.UserFactory(business=business, role="dispatcher", is_staff=True)
    wrong = client.post(reverse("account_login"), {"login": user.username, "password": "nope"})
    assert wrong.status_code == 200
    assert "errorlist" in wrong.content.decode()  # the error shows, in the admin's style
    response = client.post(
        reverse("account_login"), {"login": user.username, "password": "correct-horse-battery"}
    )
    assert response.status_code == 302 and response["Location"] == "/admin/"
