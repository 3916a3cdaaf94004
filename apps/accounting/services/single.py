"""Sending one outbox row as one request: refunds and agreement receipts (few, never batched).

The row is claimed under its own key (committed) before the request leaves; a refusal fails only
that record, in words; a timeout or an outage leaves it in doubt, re-sent under the same key once
its lease runs out, so the vendor replays its first answer instead of recording the money twice.
A write of two requests (Xero) keeps its first document in services.steps, so retries resume.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import models
from django.db.models import Q
from django.utils import timezone

from apps.accounting.models import AccountingWrite
from apps.accounting.services import outbox
from apps.accounting.services.refs import ref_get, ref_set
from apps.accounting.services.run import Run
from apps.integrations.errors import ProviderError, RejectedError

W = AccountingWrite


def writes_owed(run: Run, entity: str):
    outbox.writes_reopen_retried(connection=run.connection, entity=entity)
    return W.objects.filter(
        Q(status=W.Status.PENDING) | Q(status=W.Status.SENDING, lease_until__lte=timezone.now()),
        connection=run.connection,
        entity=entity,
    ).order_by("pk")


def write_send(
    run: Run,
    write: AccountingWrite,
    obj: models.Model,
    send: Callable[[str], str],
    *,
    what: str,
) -> bool:
    """Send `write` for `obj` through `send(key) -> remote id`; link obj to the result.

    `what` names the record for a bookkeeper ("Refund of 40.00 on INV-000123").
    """
    existing = ref_get(run.connection, obj)
    if existing is not None:  # recorded already (by an earlier run that lost its answer)
        outbox.write_done(write, remote_id=existing.remote_id, sync_log=run.sync_log)
        return True
    if write.status == W.Status.PENDING and not outbox.writes_claim(
        [write], request_id=write.idempotency_key
    ):
        return False  # another worker has it
    try:
        remote_id = send(write.idempotency_key)
    except RejectedError as exc:
        message = f"{what} was not sent to {run.vendor}: {exc}"
        outbox.write_failed(
            write, message=message, vendor_code=exc.vendor_code, sync_log=run.sync_log
        )
        run.fail(write.entity, obj.pk, message, label=write.label, vendor_code=exc.vendor_code)
        return False
    except ProviderError:
        outbox.writes_retry_now([write])
        raise
    outbox.write_done(write, remote_id=remote_id, sync_log=run.sync_log)
    ref_set(run.connection, obj, remote_id=remote_id)
    run.ok()
    return True
