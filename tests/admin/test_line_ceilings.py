"""The ceilings on one line (a field of the business) hold in the admin as on site."""

from decimal import Decimal

from django.urls import reverse

from apps.core.models import LineItem
from tests import factories as f
from tests.api.helpers import work_order_of

from .test_work_orders import change_data, change_url


def test_the_admin_refuses_a_line_beyond_the_ceiling_and_edits_the_ceiling(
    client, office_dispatcher, business
):
    client.force_login(office_dispatcher)
    work_order = work_order_of(business)
    line = f.LineItemFactory(work_order=work_order, description="Filter", unit_price=Decimal(24))
    data = change_data(work_order)
    data.update(
        {
            "lines-TOTAL_FORMS": 1,
            "lines-INITIAL_FORMS": 1,
            "lines-0-id": line.pk,
            "lines-0-work_order": work_order.pk,
            "lines-0-kind": "part",
            "lines-0-description": "Filter",
            "lines-0-quantity": "9999999",
            "lines-0-unit_price": "24.00",
            "lines-0-taxable": "on",
        }
    )
    response = client.post(change_url(work_order), data)
    assert response.status_code == 200
    assert "A quantity of 9,999,999 is more than one line may have (1,000)" in (
        response.content.decode()
    )
    assert LineItem.objects.get(pk=line.pk).quantity == Decimal("1")
    # The standalone line page goes through the same service.
    page = reverse("admin:core_lineitem_change", args=[line.pk])
    refused = client.post(
        page,
        {"kind": "part", "description": "Filter", "quantity": "5000", "unit_price": "24.00"},
    )
    assert refused.status_code == 200 and "more than one line may have" in refused.content.decode()
    # The ceiling is a business setting the office edits.
    settings_page = client.get(reverse("admin:core_business_change", args=[business.pk]))
    assert b"line_quantity_max" in settings_page.content
