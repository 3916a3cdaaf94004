from .base import Address, BusinessOwned, BusinessScopedQuerySet, Timestamped
from .billing import Invoice, InvoiceStatus, Payment, PaymentMethod, Refund
from .business import Business, Role, User
from .customers import (
    Customer,
    Equipment,
    EquipmentKind,
    PaymentTerms,
    Refrigerant,
    ServiceLocation,
)
from .work_orders import (
    ALLOWED_TRANSITIONS,
    LineItem,
    Priority,
    WorkOrder,
    WorkOrderPart,
    WorkOrderStatus,
    WorkOrderStatusChange,
)
from .workforce import Part, ServiceCategory, Skill, Technician, VanStock

__all__ = [
    "ALLOWED_TRANSITIONS",
    "Address",
    "Business",
    "BusinessOwned",
    "BusinessScopedQuerySet",
    "Customer",
    "Equipment",
    "EquipmentKind",
    "Invoice",
    "InvoiceStatus",
    "LineItem",
    "Part",
    "Payment",
    "PaymentMethod",
    "PaymentTerms",
    "Priority",
    "Refrigerant",
    "Refund",
    "Role",
    "ServiceCategory",
    "ServiceLocation",
    "Skill",
    "Technician",
    "Timestamped",
    "User",
    "VanStock",
    "WorkOrder",
    "WorkOrderPart",
    "WorkOrderStatus",
    "WorkOrderStatusChange",
]
