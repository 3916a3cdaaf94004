import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests import factories as f
from tests.api.helpers import client_for

TOKEN_URL = "/api/v1/auth/token/"
PROTECTED = ["/api/v1/me/", "/api/v1/work-orders/", "/api/v1/work-orders/1/"]


@pytest.mark.parametrize("url", PROTECTED)
def test_endpoints_require_credentials(db, url):
    response = APIClient().get(url)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Token"  # tells the app which scheme to use


@pytest.mark.parametrize(
    "url", ["/api/v1/work-orders/1/transition/", "/api/v1/work-orders/1/lines/"]
)
def test_writes_require_credentials(db, url):
    assert APIClient().post(url, {}, format="json").status_code == 401


def test_a_wrong_token_is_refused(db):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")

    response = client.get("/api/v1/me/")

    assert response.status_code == 401
    assert response.json()["detail"] == "Invalid token."


def test_token_obtain_returns_a_token_that_works(technician):
    response = APIClient().post(
        TOKEN_URL,
        {"username": technician.user.username, "password": "correct-horse-battery"},
        format="json",
    )

    assert response.status_code == 200
    token = response.json()["token"]
    assert token == Token.objects.get(user=technician.user).key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/me/").json()["user"]["username"] == technician.user.username


def test_token_obtain_is_stable_across_sign_ins(dispatcher):
    body = {"username": dispatcher.username, "password": "correct-horse-battery"}
    first = APIClient().post(TOKEN_URL, body, format="json").json()["token"]
    second = APIClient().post(TOKEN_URL, body, format="json").json()["token"]

    assert first == second


def test_token_obtain_refuses_a_wrong_password_with_a_message(dispatcher):
    response = APIClient().post(
        TOKEN_URL, {"username": dispatcher.username, "password": "nope"}, format="json"
    )

    assert response.status_code == 400
    assert "Unable to log in with provided credentials." in response.json()["detail"]
    assert not Token.objects.filter(user=dispatcher).exists()


def test_token_obtain_ignores_a_stale_token_header(dispatcher):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token revoked-long-ago")

    response = client.post(
        TOKEN_URL,
        {"username": dispatcher.username, "password": "correct-horse-battery"},
        format="json",
    )

    assert response.status_code == 200


def test_token_obtain_stops_password_guessing(dispatcher):
    # Five failures lock the account for this address (tests/api/test_sign_in_limits.py).
    body = {"username": dispatcher.username, "password": "guess"}
    statuses = [APIClient().post(TOKEN_URL, body, format="json").status_code for _ in range(6)]

    assert statuses[:5] == [400] * 5
    assert statuses[5] == 429
    assert "throttled" in APIClient().post(TOKEN_URL, body, format="json").json()["code"]


def test_session_authentication_also_works(dispatcher):
    client = APIClient()
    client.force_login(dispatcher)

    response = client.get("/api/v1/me/")

    assert response.status_code == 200
    assert response.json()["user"]["id"] == dispatcher.pk


@pytest.mark.parametrize("url", ["/api/v1/me/", "/api/v1/work-orders/"])
def test_a_user_without_a_business_is_refused_with_a_message(db, url):
    platform_admin = f.UserFactory(business=None, is_superuser=True, is_staff=True)

    response = client_for(platform_admin).get(url)

    assert response.status_code == 403
    assert response.json() == {
        "detail": "Your account is not linked to a business.",
        "code": "permission_denied",
    }


def test_a_user_without_a_business_cannot_write(db, foreign_work_order):
    platform_admin = f.UserFactory(business=None, is_superuser=True, is_staff=True)

    response = client_for(platform_admin).post(
        f"/api/v1/work-orders/{foreign_work_order.pk}/transition/",
        {"status": "cancelled"},
        format="json",
    )

    assert response.status_code == 403
    foreign_work_order.refresh_from_db()
    assert foreign_work_order.status == "new"
