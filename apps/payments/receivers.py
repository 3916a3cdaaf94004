"""Subscribers on the core event bus: enqueue a task with ids, nothing more."""

from __future__ import annotations

from apps.core import events
from apps.payments.events import PaymentAlertRaised


@events.subscribe(PaymentAlertRaised)
def on_payment_alert_raised(event: PaymentAlertRaised) -> None:
    from apps.payments import conf
    from apps.payments.tasks import payment_alert_email_task

    if conf.alert_emails_enabled():
        payment_alert_email_task.delay(event.alert_id)
