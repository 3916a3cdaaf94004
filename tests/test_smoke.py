from apps.core.models import WorkOrderStatus
from tests import factories as f


def test_factories_build_one_consistent_business(db):
    work_order = f.WorkOrderFactory()
    assert work_order.status == WorkOrderStatus.NEW
    assert work_order.customer.business == work_order.business == work_order.location.business
