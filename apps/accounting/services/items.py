"""Items, ours to theirs: one service item per trade, one item per part.

Each trade's item posts to the income account mapped for its revenue category ("HVAC service
revenue"). Without a mapping, an income account of exactly that name is mapped automatically (and
the mapping saved, so the bookkeeper sees and can change it); else the "default" revenue mapping.
We never create accounts in a customer's chart of accounts.
"""

from __future__ import annotations

import hashlib

from apps.accounting.models import AccountingWrite
from apps.accounting.providers.base import ItemDraft, RemoteItem, StaleObject
from apps.accounting.services import outbox
from apps.accounting.services.refs import ref_by_remote, ref_get, ref_set
from apps.accounting.services.run import Run
from apps.core.models import Part, ServiceCategory
from apps.integrations.errors import RejectedError
from apps.integrations.models import AccountMapping, ExternalRef

W = AccountingWrite
K = AccountMapping.Kind


def item_object_id(obj: ServiceCategory | Part) -> str:
    return f"{'category' if isinstance(obj, ServiceCategory) else 'part'}:{obj.pk}"


def item_code(obj: ServiceCategory | Part) -> str:
    """A stable short code (Xero identifies items by Code, at most 30 characters)."""
    if isinstance(obj, ServiceCategory):
        return f"SVC-{obj.code}".upper()[:30]
    return obj.sku[:30]


def mapping(run: Run, kind: str, *keys: str) -> AccountMapping | None:
    cache = getattr(run, "_mappings", None)
    if cache is None:
        cache = {(m.kind, m.local_key.lower()): m for m in run.connection.account_mappings.all()}
        run._mappings = cache
    for key in keys:
        if key and (kind, key.lower()) in cache:
            return cache[(kind, key.lower())]
    return None


def income_account_for(run: Run, revenue_category: str, *, kind: str = K.REVENUE) -> str:
    found = mapping(run, kind, revenue_category)
    if found is not None:
        return found.remote_id
    for account in run.accounts():
        if (
            account.account_type.lower() == "income"
            and account.name.lower() == revenue_category.lower()
        ):
            created = AccountMapping.objects.create(
                business_id=run.connection.business_id,
                connection=run.connection,
                kind=kind,
                local_key=revenue_category,
                remote_id=account.remote_id,
                remote_name=account.name,
            )
            run._mappings[(kind, revenue_category.lower())] = created
            run.note(f"Mapped “{revenue_category}” to the income account “{account.name}”.")
            return account.remote_id
    fallback = mapping(run, kind, "default") or mapping(run, K.REVENUE, "default")
    if fallback is not None:
        return fallback.remote_id
    raise RejectedError(
        f"No {run.vendor} income account is mapped for “{revenue_category}”. Add an account "
        f"mapping (kind “{K(kind).label}”, local key “{revenue_category}”) on the connection."
    )


def item_draft(run: Run, obj: ServiceCategory | Part) -> ItemDraft:
    if isinstance(obj, ServiceCategory):
        return ItemDraft(
            name=f"{obj.name} service"[:100],
            kind="service",
            description=f"{obj.name} service and labour",
            income_account_id=income_account_for(run, obj.revenue_category),
            sku=item_code(obj),
        )
    kind = run.connection.setting("parts_item_type")
    revenue = obj.category.revenue_category if obj.category else "Parts and materials"
    parts_income = mapping(run, K.PARTS, "income", "default")
    draft = ItemDraft(
        name=f"{obj.sku} {obj.name}"[:100],
        kind=kind if kind in ("non_inventory", "inventory") else "non_inventory",
        description=obj.name,
        unit_price=obj.unit_price,
        income_account_id=parts_income.remote_id
        if parts_income
        else income_account_for(run, revenue),
        sku=item_code(obj),
    )
    if draft.kind == "inventory":
        asset, cogs = (
            mapping(run, K.PARTS, "inventory_asset"),
            mapping(run, K.PARTS, "cost_of_goods"),
        )
        if asset is None or cogs is None:
            raise RejectedError(
                "Inventory parts need the parts mappings “inventory_asset” and “cost_of_goods”."
            )
        draft = ItemDraft(
            **{
                **draft.__dict__,
                "asset_account_id": asset.remote_id,
                "expense_account_id": cogs.remote_id,
            }
        )
    return draft


def _hash(draft: ItemDraft) -> str:
    return hashlib.sha256(repr(draft).encode()).hexdigest()


def _linked(
    run: Run, obj, write: AccountingWrite, remote: RemoteItem, draft: ItemDraft
) -> ExternalRef:
    write.payload_hash = _hash(draft)
    write.save(update_fields=["payload_hash"])
    outbox.write_done(write, remote_id=remote.remote_id, sync_log=run.sync_log)
    return ref_set(
        run.connection,
        obj,
        remote_id=remote.remote_id,
        version=remote.version,
        remote_updated_at=remote.updated_at,
    )


def _update(run: Run, obj, ref: ExternalRef, draft: ItemDraft, version: str) -> ExternalRef:
    for _attempt in range(3):
        write = outbox.write_open(
            connection=run.connection,
            entity=W.Entity.ITEM,
            object_id=item_object_id(obj),
            action=W.Action.UPDATE,
            label=draft.name,
            extra=f"{version}:{_hash(draft)}",
        )
        try:
            remote = run.provider.item_update(
                remote_id=ref.remote_id, version=version, draft=draft, key=write.idempotency_key
            )
        except StaleObject:  # edited at the vendor: ours wins for items, on the new version
            outbox.write_cancelled(write, message="Changed at the vendor meanwhile; re-read.")
            version = run.provider.item_get(remote_id=ref.remote_id).version
            continue
        return _linked(run, obj, write, remote, draft)
    raise RejectedError(f"{run.vendor} kept changing item “{draft.name}”; it will be tried again.")


def item_link_or_create(run: Run, obj: ServiceCategory | Part) -> ExternalRef:
    ref = ref_get(run.connection, obj)
    if ref is not None:
        return ref
    draft = item_draft(run, obj)
    write = outbox.write_open(
        connection=run.connection,
        entity=W.Entity.ITEM,
        object_id=item_object_id(obj),
        label=draft.name,
    )
    found = run.provider.item_find(name=draft.name, code=draft.sku)
    if found is not None and ref_by_remote(run.connection, type(obj), found.remote_id) is None:
        ref = _linked(run, obj, write, found, draft)
        if not found.active or found.income_account_id != draft.income_account_id:
            ref = _update(run, obj, ref, draft, found.version)
        return ref
    if found is not None:
        raise RejectedError(
            f"{run.vendor} item “{draft.name}” is already linked to another record."
        )
    remote = run.provider.item_create(draft=draft, key=write.idempotency_key)
    return _linked(run, obj, write, remote, draft)


def items_sync(run: Run) -> None:
    business_id = run.connection.business_id
    objects = [
        *ServiceCategory.objects.filter(business_id=business_id).order_by("pk"),
        *Part.objects.filter(business_id=business_id).select_related("category").order_by("pk"),
    ]
    for obj in objects:
        label = str(obj)
        try:
            ref = ref_get(run.connection, obj)
            if ref is None:
                item_link_or_create(run, obj)
            else:
                draft = item_draft(run, obj)
                last = (
                    AccountingWrite.objects.filter(
                        connection=run.connection,
                        entity=W.Entity.ITEM,
                        object_id=item_object_id(obj),
                        status=W.Status.DONE,
                    )
                    .order_by("-completed_at", "-pk")
                    .first()
                )
                if last is None or last.payload_hash != _hash(draft):
                    _update(run, obj, ref, draft, ref.remote_version)
            run.ok()
        except RejectedError as exc:
            run.fail(
                "item",
                item_object_id(obj),
                f"{label}: {exc}",
                label=label,
                vendor_code=exc.vendor_code,
            )
