from .agreements import (
    AgreementPeriod,
    AgreementStatus,
    MaintenanceAgreement,
    MaintenancePlan,
    PlanInterval,
)
from .alerts import PaymentAlert
from .customers import SavedPaymentMethod, StripeCustomer
from .intents import (
    CaptureMethod,
    Dispute,
    IntentStatus,
    PaymentLink,
    Refund,
    StripePaymentIntent,
)

__all__ = [
    "AgreementPeriod",
    "AgreementStatus",
    "CaptureMethod",
    "Dispute",
    "IntentStatus",
    "MaintenanceAgreement",
    "MaintenancePlan",
    "PaymentAlert",
    "PaymentLink",
    "PlanInterval",
    "Refund",
    "SavedPaymentMethod",
    "StripeCustomer",
    "StripePaymentIntent",
]
