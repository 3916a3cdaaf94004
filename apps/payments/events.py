"""Domain events this app publishes on the core bus (apps.core.events.publish_on_commit).

PaymentRecorded and RefundRecorded come from core (payment_record, payment_refund_record: a Stripe
refund or a lost dispute lowers the invoice through core); these cover what core has no event
for, so accounting (agreement revenue) and comms (dispatcher alerts) can subscribe.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal


@dataclasses.dataclass(frozen=True, kw_only=True)
class AgreementPaymentReceived:
    business_id: int
    agreement_id: int
    period_id: int
    amount: Decimal
    currency: str
    occurred_at: dt.datetime


@dataclasses.dataclass(frozen=True, kw_only=True)
class PaymentAlertRaised:
    """For comms: text or email the dispatcher. The alert row is the durable record."""

    business_id: int
    alert_id: int
    kind: str
    occurred_at: dt.datetime
