"""Builders shared by the API tests."""

from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.core.models import WorkOrder
from apps.core.services.work_orders import work_order_assign, work_order_transition
from tests import factories as f


def client_for(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def work_order_of(business, **kwargs) -> WorkOrder:
    return f.WorkOrderFactory(
        location=f.ServiceLocationFactory(customer=f.CustomerFactory(business=business)),
        **kwargs,
    )


def dispatched_to(technician, dispatcher, **kwargs) -> WorkOrder:
    """A work order of the technician's business, assigned and dispatched the real way."""
    work_order = work_order_of(technician.business, **kwargs)
    work_order_assign(work_order=work_order, technician=technician, by=dispatcher)
    work_order_transition(work_order=work_order, to_status="dispatched", by=dispatcher)
    work_order.refresh_from_db()
    return work_order


def missing_id() -> int:
    """An id no work order has, in any business."""
    last = WorkOrder.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    return last + 10_000
