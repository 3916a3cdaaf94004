"""Finished steps of two-request writes, kept in the database (the WriteStep table).

Xero records a refund as a credit note and then a payment against it, and an agreement receipt as
an invoice and then its payment. The document's id is saved (committed) the moment Xero answers,
keyed by our record and the step, not by the write's revision: any later attempt for the record
(a re-send after a timeout, a person's retry after a refusal, a worker restarted after a crash
between the two requests) finds it and sends only the payment, so no second document is created.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from apps.accounting.models import AccountingWrite, WriteStep
from apps.accounting.providers.base import Steps


class WriteSteps(Steps):
    def __init__(self, write: AccountingWrite):
        super().__init__()
        self.write = write

    def _rows(self):
        return WriteStep.objects.filter(
            business_id=self.write.business_id,
            connection_id=self.write.connection_id,
            entity=self.write.entity,
            object_id=self.write.object_id,
        )

    def get(self, step: str) -> str | None:
        row = self._rows().filter(step=step).first()
        return row.remote_id if row is not None else None

    def record(self, step: str, *, remote_id: str, key: str) -> None:
        try:
            with transaction.atomic():  # committed at once when no outer transaction is open
                WriteStep.objects.create(
                    business_id=self.write.business_id,
                    connection_id=self.write.connection_id,
                    entity=self.write.entity,
                    object_id=self.write.object_id,
                    step=step,
                    remote_id=str(remote_id),
                    idempotency_key=key,
                )
        except IntegrityError:
            # Recorded by an earlier attempt that lost its answer: Xero replayed the same document.
            if not self._rows().filter(step=step, remote_id=str(remote_id)).exists():
                raise
