"""Staff sign in through allauth (with MFA available); office roles get their permissions."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from apps.core.admin.permissions import GROUP_NAMES, grant_office_permissions
from apps.core.models import Role
from tests import factories as f


def test_admin_login_leads_to_the_allauth_login_page(client, db):
    response = client.get("/admin/", follow=True)
    final_url = response.redirect_chain[-1][0]
    assert final_url.startswith(reverse("account_login"))
    assert final_url == reverse("account_login") + "?next=%2Fadmin%2F"
    assert response.status_code == 200
    body = response.content.decode()
    assert 'name="login"' in body
    assert 'name="password"' in body


def test_staff_signs_in_through_allauth_and_reaches_the_admin(client, office_dispatcher):
    response = client.post(
        reverse("account_login") + "?next=/admin/",
        {"login": office_dispatcher.username, "password": "correct-horse-battery"},
    )
    assert response.status_code == 302
    assert response.url == "/admin/"
    admin_index = client.get("/admin/")
    assert admin_index.status_code == 200
    assert "Work orders" in admin_index.content.decode()


def test_wrong_password_stays_on_the_login_page(client, office_dispatcher):
    response = client.post(
        reverse("account_login"), {"login": office_dispatcher.username, "password": "nope"}
    )
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_signed_in_non_staff_is_refused_by_the_admin_login(client, technician):
    client.force_login(technician.user)
    assert client.get("/admin/login/").status_code == 403


def test_two_factor_page_loads_for_a_signed_in_user(client, office_dispatcher):
    client.force_login(office_dispatcher)
    response = client.get("/accounts/2fa/")
    assert response.status_code == 200
    assert "Authenticator" in response.content.decode()


def test_grant_office_permissions_by_role(business):
    dispatcher = f.UserFactory(business=business, role=Role.DISPATCHER, is_staff=False)
    manager = f.UserFactory(business=business, role=Role.MANAGER)
    granted = grant_office_permissions(dispatcher)
    grant_office_permissions(manager)
    dispatcher.refresh_from_db()
    assert dispatcher.is_staff
    assert "core.change_workorder" in granted
    assert dispatcher.has_perm("core.change_workorder")
    assert dispatcher.has_perm("integrations.view_integrationconnection")
    assert not dispatcher.has_perm("integrations.change_integrationconnection")
    assert not dispatcher.has_perm("core.add_part")
    assert manager.has_perm("core.add_part")
    assert manager.has_perm("integrations.change_integrationconnection")
    assert not manager.has_perm("core.add_user")


def test_grant_is_idempotent_and_follows_role_changes(business):
    user = f.UserFactory(business=business, role=Role.MANAGER)
    grant_office_permissions(user)
    grant_office_permissions(user)
    assert list(user.groups.values_list("name", flat=True)) == [GROUP_NAMES[Role.MANAGER]]
    user.role = Role.TECHNICIAN
    user.save()
    assert grant_office_permissions(user) == set()
    assert not user.groups.exists()
    assert Group.objects.filter(name=GROUP_NAMES[Role.MANAGER]).exists()


def test_office_users_cannot_reach_platform_screens(client, office_dispatcher):
    client.force_login(office_dispatcher)
    assert client.get("/admin/django_celery_beat/periodictask/").status_code == 403
    assert client.get("/admin/auth/group/").status_code == 403


@pytest.fixture
def business_admin(business):
    user = f.UserFactory(business=business, role=Role.ADMIN)
    grant_office_permissions(user)
    return user


def test_business_admin_manages_people_without_platform_rights(client, business_admin, business):
    client.force_login(business_admin)
    body = client.get(reverse("admin:core_user_change", args=[business_admin.pk])).content.decode()
    assert 'name="role"' in body
    for platform_field in ("is_superuser", "user_permissions", "groups", "business"):
        assert f'name="{platform_field}"' not in body
    response = client.post(
        reverse("admin:core_user_add"),
        {
            "username": "newdispatcher",
            "role": Role.DISPATCHER,
            "usable_password": "true",
            "password1": "A-long-enough-pass-2024",
            "password2": "A-long-enough-pass-2024",
        },
    )
    assert response.status_code == 302
    created = type(business_admin).objects.get(username="newdispatcher")
    assert created.business == business
    assert not created.is_superuser
    assert created.has_perm("core.add_workorder")  # office permissions follow the role


def test_business_admin_sees_only_own_business(client, business_admin, business, other_business):
    client.force_login(business_admin)
    body = client.get(reverse("admin:core_business_changelist")).content.decode()
    assert business.name in body
    assert other_business.name not in body
    assert client.get(reverse("admin:core_business_add")).status_code == 403
