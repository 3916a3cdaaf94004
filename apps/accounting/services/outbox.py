"""The outbox of writes owed to a vendor, each with a deterministic idempotency key.

Lifecycle: pending -> sending (claimed: request id and lease stored, committed before the request
leaves) -> done | failed. A row left in "sending" by a crash or a timeout is "in doubt": once its
lease runs out it is sent again in exactly the same shape (same request id, same batch members),
so the vendor replays its first answer instead of creating a second record.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence

from django.db import IntegrityError, transaction
from django.db.models import F, Max
from django.utils import timezone

from apps.accounting import conf
from apps.accounting.models import AccountingWrite
from apps.integrations.models import IntegrationConnection, SyncLog, SyncRecordError

# Fixed forever: changing it would change every key and defeat replays of in-doubt writes.
KEY_NAMESPACE = uuid.UUID("6f1d3c2e-7a0b-4f57-9d8e-2b1c4a5e6f70")

W = AccountingWrite


def idempotency_key(
    *, connection_id: int, entity: str, object_id: str, action: str, revision: int, extra: str = ""
) -> str:
    """36 characters: within QuickBooks' requestid limits (50, 36 in a batch) and Xero's 128."""
    name = f"{connection_id}:{entity}:{object_id}:{action}:{revision}:{extra}"
    return str(uuid.uuid5(KEY_NAMESPACE, name))


def batch_request_id(keys: Sequence[str]) -> str:
    return str(uuid.uuid5(KEY_NAMESPACE, "batch:" + ",".join(sorted(keys))))


def batch_item_id(write: AccountingWrite) -> str:
    """QuickBooks allows 10 characters per bId when the batch carries a requestid."""
    return str(write.pk)


def write_open(
    *,
    connection: IntegrationConnection,
    entity: str,
    object_id: object,
    label: str = "",
    action: str = W.Action.CREATE,
    extra: str = "",
) -> AccountingWrite:
    """The write owed for this record and action: the latest revision, made if there is none.

    For creates there is one per record (and revision); for updates `extra` fingerprints the
    content and the version it applies to, so a re-sent update reuses its key.
    """
    object_id = str(object_id)
    filters = {"connection": connection, "entity": entity, "object_id": object_id, "action": action}
    if action == W.Action.UPDATE:
        key = idempotency_key(
            connection_id=connection.pk,
            entity=entity,
            object_id=object_id,
            action=action,
            revision=0,
            extra=extra,
        )
        existing = W.objects.filter(connection=connection, idempotency_key=key).first()
        if existing is not None:
            return existing
    else:
        existing = W.objects.filter(**filters).order_by("-revision").first()
        if existing is not None:
            return existing
        key = ""
    try:
        return _next_revision_create(connection, filters, label, key=key)
    except IntegrityError:  # a concurrent worker opened it first
        return W.objects.filter(**filters).order_by("-revision").first()


def _next_revision_create(
    connection: IntegrationConnection, filters: dict, label: str, *, key: str = ""
) -> AccountingWrite:
    """Create the record's next revision, keyed by it unless a key is given (IntegrityError if a
    concurrent worker took the same revision)."""
    revision = (W.objects.filter(**filters).aggregate(m=Max("revision"))["m"] or 0) + 1
    key = key or idempotency_key(
        connection_id=connection.pk,
        entity=filters["entity"],
        object_id=filters["object_id"],
        action=filters["action"],
        revision=revision,
    )
    with transaction.atomic():
        return W.objects.create(
            business_id=connection.business_id,
            revision=revision,
            idempotency_key=key,
            label=label[:200],
            **filters,
        )


def write_open_revision(
    *,
    connection: IntegrationConnection,
    entity: str,
    object_id: object,
    action: str,
    label: str = "",
) -> AccountingWrite:
    """A write for the record's latest state: the waiting one, else a new revision.

    For edits made after a record was pushed: each new revision has its own key (the create's key
    would replay the create), while a revision not sent yet takes in later edits, since it is
    built from the record as it is when sent.
    """
    object_id = str(object_id)
    filters = {"connection": connection, "entity": entity, "object_id": object_id, "action": action}
    for _ in range(3):  # a concurrent worker may take the same revision number
        waiting = W.objects.filter(**filters, status=W.Status.PENDING).order_by("-revision").first()
        if waiting is not None:
            return waiting
        try:
            return _next_revision_create(connection, filters, label)
        except IntegrityError:
            continue
    raise IntegrityError(f"could not open a {action} of {entity} {object_id}")


def derived_key(write: AccountingWrite, suffix: str) -> str:
    """A second request of one write (re-applying after a stale object, a follow-up call): the
    vendor answers a reused key with its first answer, so each distinct request gets its own
    key, derived deterministically so that a re-send reuses it."""
    return str(uuid.uuid5(KEY_NAMESPACE, f"{write.idempotency_key}:{suffix}"))


def writes_claim(writes: Sequence[AccountingWrite], *, request_id: str) -> bool:
    """Mark the writes as sent under request_id; all or none (another worker may own some)."""
    now = timezone.now()
    lease = now + dt.timedelta(seconds=conf.setting("ACCOUNTING_WRITE_LEASE_SECONDS"))
    ids = [w.pk for w in writes]
    claimed = W.objects.filter(pk__in=ids, status=W.Status.PENDING).update(
        status=W.Status.SENDING,
        request_id=request_id,
        lease_until=lease,
        sent_at=now,
        attempts=F("attempts") + 1,
    )
    if claimed != len(ids):
        W.objects.filter(pk__in=ids, request_id=request_id, status=W.Status.SENDING).update(
            status=W.Status.PENDING, request_id="", lease_until=None
        )
        return False
    for write in writes:
        write.status, write.request_id, write.lease_until = W.Status.SENDING, request_id, lease
    return True


def writes_in_doubt(
    *, connection: IntegrationConnection, entity: str, action: str | None = None
) -> list[list[AccountingWrite]]:
    """Sent writes whose answer was never recorded and whose lease ran out, grouped per request."""
    rows = W.objects.filter(
        connection=connection,
        entity=entity,
        status=W.Status.SENDING,
        lease_until__lte=timezone.now(),
    ).order_by("pk")
    if action is not None:
        rows = rows.filter(action=action)
    groups: dict[str, list[AccountingWrite]] = defaultdict(list)
    for row in rows:
        groups[row.request_id].append(row)
    return list(groups.values())


def writes_retry_now(writes: Sequence[AccountingWrite]) -> None:
    """We know these requests are no longer in flight: make them due for a re-send at once."""
    now = timezone.now()
    W.objects.filter(pk__in=[w.pk for w in writes], status=W.Status.SENDING).update(
        lease_until=now, attempts=F("attempts") + 1
    )


def write_done(write: AccountingWrite, *, remote_id: str, sync_log: SyncLog | None) -> None:
    write.status, write.remote_id, write.completed_at = W.Status.DONE, remote_id, timezone.now()
    write.error_message, write.vendor_code, write.lease_until = "", "", None
    write.sync_log = sync_log
    write.save(
        update_fields=[
            "status",
            "remote_id",
            "completed_at",
            "error_message",
            "vendor_code",
            "lease_until",
            "sync_log",
        ]
    )


def write_failed(
    write: AccountingWrite, *, message: str, vendor_code: str = "", sync_log: SyncLog | None
) -> None:
    write.status, write.completed_at, write.lease_until = W.Status.FAILED, timezone.now(), None
    write.error_message, write.vendor_code, write.sync_log = message, vendor_code[:50], sync_log
    write.save(
        update_fields=[
            "status",
            "completed_at",
            "lease_until",
            "error_message",
            "vendor_code",
            "sync_log",
        ]
    )


def write_cancelled(write: AccountingWrite, *, message: str) -> None:
    write.status, write.completed_at, write.lease_until = W.Status.CANCELLED, timezone.now(), None
    write.error_message = message
    write.save(update_fields=["status", "completed_at", "lease_until", "error_message"])


def writes_reopen_retried(*, connection: IntegrationConnection, entity: str) -> int:
    """Failed writes a person chose to retry (admin "retry" on the error) get a new revision.

    A failed write was refused outright, so nothing exists at the vendor and a new key is safe
    (for a two-request write, the first document if created is kept in services.steps and reused).
    """
    reopened = 0
    failed = W.objects.filter(connection=connection, entity=entity, status=W.Status.FAILED)
    for write in failed:
        retried = SyncRecordError.objects.filter(
            business_id=connection.business_id,
            sync_log__connection=connection,
            record_type=entity,
            record_id=write.object_id,
            status=SyncRecordError.Status.RETRIED,
            resolved_at__gte=write.completed_at,
        ).exists()
        newer = W.objects.filter(
            connection=connection,
            entity=entity,
            object_id=write.object_id,
            action=write.action,
            revision__gt=write.revision,
        ).exists()
        if retried and not newer:
            revision = write.revision + 1
            W.objects.create(
                business_id=connection.business_id,
                connection=connection,
                entity=entity,
                action=write.action,
                object_id=write.object_id,
                label=write.label,
                revision=revision,
                idempotency_key=idempotency_key(
                    connection_id=connection.pk,
                    entity=entity,
                    object_id=write.object_id,
                    action=write.action,
                    revision=revision,
                ),
            )
            reopened += 1
    return reopened


RESOURCE_OF = {
    W.Entity.CUSTOMER: "customers",
    W.Entity.ITEM: "items",
    W.Entity.INVOICE: "invoices",
    W.Entity.PAYMENT: "payments",
    W.Entity.REFUND: "payments",
    W.Entity.AGREEMENT: "payments",
}


def write_retry(*, write: AccountingWrite) -> AccountingWrite | None:
    """A person retries a refused write (after fixing the data): a new revision, sent soon."""
    from apps.accounting.services.sync import sync_request_coalesced

    if write.status != W.Status.FAILED:
        return None
    revision = (
        W.objects.filter(
            connection=write.connection,
            entity=write.entity,
            object_id=write.object_id,
            action=write.action,
        ).aggregate(m=Max("revision"))["m"]
        or 0
    ) + 1
    retried = W.objects.create(
        business_id=write.business_id,
        connection=write.connection,
        entity=write.entity,
        action=write.action,
        object_id=write.object_id,
        label=write.label,
        revision=revision,
        idempotency_key=idempotency_key(
            connection_id=write.connection_id,
            entity=write.entity,
            object_id=write.object_id,
            action=write.action,
            revision=revision,
        ),
    )
    write_cancelled(write, message=f"Retried as revision {revision}.")
    sync_request_coalesced(
        connection=write.connection,
        resources=[RESOURCE_OF[write.entity]],
        trigger=SyncLog.Trigger.MANUAL,
    )
    return retried
