"""The accounting admin: the connect button, the outbox with its retry action, the audit."""

import pytest
from django.contrib.contenttypes.models import ContentType

from apps.accounting.models import AccountingWrite, OverwriteAudit
from apps.core.admin.permissions import grant_office_permissions
from apps.core.models import Customer
from tests import factories as f

pytestmark = pytest.mark.django_db
W = AccountingWrite


@pytest.fixture
def office(client, dispatcher):
    grant_office_permissions(dispatcher)
    client.force_login(dispatcher)
    return client


@pytest.fixture
def rival_connection(other_business):
    return f.IntegrationConnectionFactory(
        business=other_business, provider="xero", name="RIVALBOOKS"
    )


def test_connections_show_a_connect_button_for_this_business_only(
    office, qbo_connection, rival_connection
):
    page = office.get("/admin/accounting/accountingconnection/")

    assert page.status_code == 200
    html = page.content.decode()
    assert f"/api/v1/integrations/quickbooks/auth?connection={qbo_connection.pk}" in html
    assert "Reconnect to QuickBooks Online" in html
    assert "RIVALBOOKS" not in html
    assert qbo_connection.credentials["refresh_token"] not in html
    detail = office.get(f"/admin/accounting/accountingconnection/{rival_connection.pk}/change/")
    assert detail.status_code == 302  # another business's row: "does not exist"


def test_a_refused_write_can_be_retried_from_the_outbox(
    office, qbo_connection, business, django_capture_on_commit_callbacks
):
    write = W.objects.create(
        business=business,
        connection=qbo_connection,
        entity="invoice",
        object_id="77",
        label="INV-000077",
        idempotency_key="k-77",
        status=W.Status.FAILED,
        error_message="QuickBooks already has an invoice numbered INV-000077",
    )
    listing = office.get("/admin/accounting/accountingwrite/")
    assert "INV-000077" in listing.content.decode()

    with django_capture_on_commit_callbacks(execute=False):
        answer = office.post(
            "/admin/accounting/accountingwrite/",
            {"action": "retry", "_selected_action": [write.pk]},
            follow=True,
        )

    assert answer.status_code == 200
    revisions = list(
        W.objects.filter(object_id="77").order_by("revision").values_list("revision", "status")
    )
    assert revisions == [(1, W.Status.CANCELLED), (2, W.Status.PENDING)]


def test_the_overwrite_audit_is_readable_and_read_only(office, qbo_connection, business):
    customer = f.CustomerFactory(business=business, display_name="Audited Person")
    OverwriteAudit.objects.create(
        business=business,
        connection=qbo_connection,
        content_type=ContentType.objects.get_for_model(Customer),
        object_id=str(customer.pk),
        object_label=customer.display_name,
        remote_id="9",
        field="email",
        old_value="old@example.com",
        new_value="new@example.com",
        winner="remote",
    )

    page = office.get("/admin/accounting/overwriteaudit/")

    assert page.status_code == 200 and "old@example.com" in page.content.decode()
    assert office.get("/admin/accounting/overwriteaudit/add/").status_code == 403


def test_technicians_do_not_see_accounting(client, business, qbo_connection):
    user = f.TechnicianFactory(business=business).user
    user.is_staff = True
    user.save()
    client.force_login(user)

    assert client.get("/admin/accounting/accountingconnection/").status_code == 403
