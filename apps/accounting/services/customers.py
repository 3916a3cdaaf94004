"""Customers both ways: link before create, last modified wins, every overwritten value audited."""

from __future__ import annotations

import dataclasses
import datetime as dt

import phonenumbers
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from apps.accounting.models import AccountingWrite, OverwriteAudit, SyncCursor
from apps.accounting.providers.base import (
    CustomerFields,
    DuplicateName,
    RemoteCustomer,
    StaleObject,
)
from apps.accounting.services import outbox
from apps.accounting.services.refs import ref_by_remote, ref_get, ref_set, refs_for
from apps.accounting.services.run import Run
from apps.core.models import Customer
from apps.integrations.errors import RejectedError
from apps.integrations.models import ExternalRef

W = AccountingWrite
FIELD_TO_MODEL = {
    "display_name": "display_name",
    "company_name": "company_name",
    "email": "email",
    "phone": "phone",
    "address_line1": "address_line1",
    "address_line2": "address_line2",
    "city": "city",
    "region": "region",
    "postal_code": "postal_code",
    "country": "country",
}
COUNTRY_NAMES = {"usa": "US", "united states": "US", "canada": "CA", "can": "CA", "uk": "GB"}
STALE_RETRIES = 3


def _display_name(name: str) -> str:
    # QuickBooks refuses ':' in DisplayName (it separates sub-customers).
    return name.replace(":", " -").strip()[:500]


def customer_fields(customer: Customer) -> CustomerFields:
    return CustomerFields(
        display_name=_display_name(customer.display_name),
        company_name=customer.company_name,
        email=customer.email,
        phone=customer.phone.as_e164 if customer.phone else "",
        address_line1=customer.address_line1,
        address_line2=customer.address_line2,
        city=customer.city,
        region=customer.region,
        postal_code=customer.postal_code,
        country=customer.country,
    )


def normalized(fields: CustomerFields, *, fallback: CustomerFields | None = None) -> CustomerFields:
    """The vendor's free-form values in our shapes: E.164 phones, ISO country codes."""
    phone = fields.phone
    if phone:
        try:
            parsed = phonenumbers.parse(phone, settings.PHONENUMBER_DEFAULT_REGION)
            phone = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
            if not phonenumbers.is_valid_number(parsed):
                raise phonenumbers.NumberParseException(0, "invalid")
        except phonenumbers.NumberParseException:
            phone = fallback.phone if fallback else ""
    country = fields.country.strip()
    if len(country) != 2:
        country = COUNTRY_NAMES.get(country.lower(), fallback.country if fallback else "US")
    return dataclasses.replace(
        fields,
        phone=phone,
        country=country.upper(),
        display_name=fields.display_name[:200],
        company_name=fields.company_name[:200],
        email=fields.email[:254],
    )


def _audit(
    run: Run,
    customer: Customer,
    remote_id: str,
    diffs: dict[str, tuple[str, str]],
    *,
    winner: str,
    conflict: bool,
    remote_at: dt.datetime | None,
) -> None:
    content_type = ContentType.objects.get_for_model(Customer)
    OverwriteAudit.objects.bulk_create(
        OverwriteAudit(
            business_id=customer.business_id,
            connection=run.connection,
            content_type=content_type,
            object_id=str(customer.pk),
            object_label=customer.display_name[:200],
            remote_id=remote_id,
            field=field,
            old_value=(ours if winner == OverwriteAudit.Winner.REMOTE else theirs) or "",
            new_value=(theirs if winner == OverwriteAudit.Winner.REMOTE else ours) or "",
            winner=winner,
            conflict=conflict,
            local_modified_at=customer.updated_at,
            remote_modified_at=remote_at,
        )
        for field, (ours, theirs) in diffs.items()
    )


def _apply_remote(customer: Customer, theirs: CustomerFields, fields: list[str]) -> None:
    for name in fields:
        setattr(customer, FIELD_TO_MODEL[name], getattr(theirs, name))
    customer.save(update_fields=[FIELD_TO_MODEL[n] for n in fields] + ["updated_at"])


def _linked(run: Run, customer: Customer, remote: RemoteCustomer) -> ExternalRef:
    """Both sides now agree: remember the remote version and our state it matches."""
    return ref_set(
        run.connection,
        customer,
        remote_id=remote.remote_id,
        version=remote.version,
        remote_updated_at=remote.updated_at,
        synced_at=customer.updated_at,
    )


def customer_reconcile(
    run: Run, customer: Customer, ref: ExternalRef, remote: RemoteCustomer
) -> str:
    """Make both sides agree; the later modification wins. Returns what happened."""
    for _attempt in range(STALE_RETRIES):
        ours = customer_fields(customer)
        theirs = normalized(remote.fields, fallback=ours)
        supported = run.provider.customer_fields_supported
        diffs = {k: v for k, v in ours.changed(theirs).items() if k in supported}
        first_link = ref.last_synced_at is None
        local_changed = first_link or customer.updated_at > ref.last_synced_at
        remote_changed = first_link or remote.version != ref.remote_version
        remote_wins = remote_changed and (
            not local_changed
            or (remote.updated_at is not None and remote.updated_at >= customer.updated_at)
        )
        if not diffs:
            _linked(run, customer, remote)
            return "same"
        conflict = local_changed and remote_changed and not first_link
        if remote_wins or not local_changed:
            _audit(
                run,
                customer,
                remote.remote_id,
                diffs,
                winner=OverwriteAudit.Winner.REMOTE,
                conflict=conflict,
                remote_at=remote.updated_at,
            )
            _apply_remote(customer, theirs, list(diffs))
            _linked(run, customer, remote)
            return "pulled"
        write = outbox.write_open(
            connection=run.connection,
            entity=W.Entity.CUSTOMER,
            object_id=customer.pk,
            action=W.Action.UPDATE,
            label=customer.display_name,
            extra=f"{remote.version}:{sorted(dataclasses.asdict(ours).items())}",
        )
        try:
            updated = run.provider.customer_update(
                remote_id=remote.remote_id,
                version=remote.version,
                fields=ours,
                changed=sorted(diffs),
                key=write.idempotency_key,
            )
        except StaleObject:
            # Someone edited it at the vendor since we read it: re-read, decide again, re-apply.
            outbox.write_cancelled(write, message="Changed at the vendor meanwhile; re-read.")
            remote = run.provider.customer_get(remote_id=remote.remote_id)
            continue
        outbox.write_done(write, remote_id=updated.remote_id, sync_log=run.sync_log)
        _audit(
            run,
            customer,
            remote.remote_id,
            diffs,
            winner=OverwriteAudit.Winner.LOCAL,
            conflict=conflict,
            remote_at=remote.updated_at,
        )
        _linked(run, customer, updated)
        return "pushed"
    raise RejectedError(
        f"{run.vendor} kept changing this customer while we updated it; it will be tried again."
    )


def customer_link_or_create(run: Run, customer: Customer) -> ExternalRef:
    """The customer's vendor id: an existing link, a same-named vendor customer, or a new one."""
    ref = ref_get(run.connection, customer)
    if ref is not None:
        return ref
    fields = customer_fields(customer)
    write = outbox.write_open(
        connection=run.connection,
        entity=W.Entity.CUSTOMER,
        object_id=customer.pk,
        label=customer.display_name,
    )
    found = run.provider.customer_find(display_name=fields.display_name)
    if found is not None and ref_by_remote(run.connection, Customer, found.remote_id) is None:
        ref = ref_set(
            run.connection,
            customer,
            remote_id=found.remote_id,
            version=found.version,
            remote_updated_at=found.updated_at,
            synced_at=None,
        )
        outbox.write_done(write, remote_id=found.remote_id, sync_log=run.sync_log)
        customer_reconcile(run, customer, ref, found)
        return ref_get(run.connection, customer)
    # A namesake is already linked to another of our customers, or the name is used by a vendor
    # or an employee (QuickBooks names are unique across all three): add our number to it.
    alternate = dataclasses.replace(
        fields, display_name=_display_name(f"{fields.display_name} ({customer.pk})")
    )
    attempts = [(alternate, "alt")] if found is not None else [(fields, ""), (alternate, "alt")]
    for candidate, suffix in attempts:
        key = (
            write.idempotency_key
            if not suffix
            else outbox.idempotency_key(
                connection_id=run.connection.pk,
                entity=W.Entity.CUSTOMER,
                object_id=str(customer.pk),
                action=W.Action.CREATE,
                revision=write.revision,
                extra=suffix,
            )
        )
        write.request_id = key  # the key actually sent (derived, so a retry sends it again)
        write.save(update_fields=["request_id"])
        try:
            created = run.provider.customer_create(fields=candidate, key=key)
        except DuplicateName:
            if suffix:
                raise RejectedError(
                    f"{run.vendor} already has a customer, vendor or employee named "
                    f"“{candidate.display_name}”. Rename the customer here or there."
                ) from None
            continue
        outbox.write_done(write, remote_id=created.remote_id, sync_log=run.sync_log)
        return ref_set(
            run.connection,
            customer,
            remote_id=created.remote_id,
            version=created.version,
            remote_updated_at=created.updated_at,
            synced_at=customer.updated_at,
        )
    raise AssertionError("unreachable")


def customer_apply_remote(run: Run, remote: RemoteCustomer) -> str:
    if remote.parent_remote_id:
        return "skipped"  # a sub-customer (job): ours stand for service locations, not customers
    ref = ref_by_remote(run.connection, Customer, remote.remote_id)
    if ref is not None:
        customer = Customer.objects.filter(
            pk=ref.object_id, business_id=run.connection.business_id
        ).first()
        if customer is None:
            ref.delete()
        elif remote.version == ref.remote_version:
            return "same"  # our own write coming back
        else:
            return customer_reconcile(run, customer, ref, remote)
    if not remote.active:
        return "skipped"
    linked = ExternalRef.objects.filter(
        connection=run.connection, content_type=ContentType.objects.get_for_model(Customer)
    ).values_list("object_id", flat=True)
    local = (
        Customer.objects.filter(
            business_id=run.connection.business_id, display_name__iexact=remote.fields.display_name
        )
        .exclude(pk__in=[int(i) for i in linked])
        .first()
    )
    if local is not None:
        ref = ref_set(
            run.connection,
            local,
            remote_id=remote.remote_id,
            version=remote.version,
            remote_updated_at=remote.updated_at,
            synced_at=None,
        )
        return customer_reconcile(run, local, ref, remote)
    theirs = normalized(remote.fields)
    customer = Customer.objects.create(
        business_id=run.connection.business_id,
        **{FIELD_TO_MODEL[k]: v for k, v in dataclasses.asdict(theirs).items()},
    )
    _linked(run, customer, remote)
    return "created"


def customers_sync(run: Run) -> None:
    """Pull what changed at the vendor (CDC from the cursor), then push what changed here."""
    from apps.accounting.services.sync import cursor_after, cursor_get, cursor_set, pull_since

    cursor = cursor_get(run.connection, "customers")
    if cursor is None:
        remotes, deletions, until = run.provider.customers_all(), (), timezone.now()
    else:
        changes = run.provider.changes_since(entities=["customers"], since=pull_since(run, cursor))
        remotes, deletions, until = changes.customers, changes.deletions, cursor_after(run, changes)
        if changes.truncated:
            run.note(f"More customer changes are waiting at {run.vendor}; the next run reads them.")
    # Deletions first: QuickBooks merges by renaming one customer to the other's name and
    # deleting it, so the survivor must find our customer unlinked and take it over.
    for deletion in deletions:
        ref = ref_by_remote(run.connection, Customer, deletion.remote_id)
        if ref is not None:
            ref.delete()
            run.note(
                f"A customer was deleted or merged in {run.vendor}; it was linked again by name."
            )
    for remote in remotes:
        try:
            customer_apply_remote(run, remote)
            run.ok()
        except RejectedError as exc:
            run.fail(
                "customer",
                remote.remote_id,
                str(exc),
                label=remote.fields.display_name,
                vendor_code=exc.vendor_code,
            )
    cursor_set(run.connection, "customers", until)
    _push_local_changes(run)


def _push_local_changes(run: Run) -> None:
    customers = Customer.objects.filter(business_id=run.connection.business_id).order_by("pk")
    refs = refs_for(run.connection, Customer, customers.values_list("pk", flat=True))
    for customer in customers.iterator():
        ref = refs.get(str(customer.pk))
        if ref is not None and ref.last_synced_at and customer.updated_at <= ref.last_synced_at:
            continue
        try:
            if ref is None:
                customer_link_or_create(run, customer)
            else:
                customer_reconcile(
                    run, customer, ref, run.provider.customer_get(remote_id=ref.remote_id)
                )
            run.ok()
        except RejectedError as exc:
            run.fail(
                "customer",
                customer.pk,
                f"{customer.display_name}: {exc}",
                label=customer.display_name,
                vendor_code=exc.vendor_code,
            )


__all__ = ["SyncCursor", "customer_fields", "customer_link_or_create", "customers_sync"]
