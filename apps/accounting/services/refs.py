"""Links between our rows and the vendor's (the framework's ExternalRef, SyncToken included)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from apps.integrations.models import ExternalRef, IntegrationConnection

NOW = object()  # ref_set's default for synced_at; None means "linked, never reconciled"


def ref_get(connection: IntegrationConnection, obj: models.Model) -> ExternalRef | None:
    return ExternalRef.objects.filter(
        connection=connection,
        content_type=ContentType.objects.get_for_model(type(obj)),
        object_id=str(obj.pk),
    ).first()


def ref_by_remote(
    connection: IntegrationConnection, model: type[models.Model], remote_id: str
) -> ExternalRef | None:
    return ExternalRef.objects.filter(
        connection=connection,
        content_type=ContentType.objects.get_for_model(model),
        remote_id=str(remote_id),
    ).first()


def refs_for(
    connection: IntegrationConnection, model: type[models.Model], object_ids: Iterable[object]
) -> dict[str, ExternalRef]:
    rows = ExternalRef.objects.filter(
        connection=connection,
        content_type=ContentType.objects.get_for_model(model),
        object_id__in=[str(i) for i in object_ids],
    )
    return {row.object_id: row for row in rows}


def ref_set(
    connection: IntegrationConnection,
    obj: models.Model,
    *,
    remote_id: str,
    version: str = "",
    remote_updated_at: dt.datetime | None = None,
    synced_at: dt.datetime | object | None = NOW,
) -> ExternalRef:
    """Create or update the link. An UPDATE first, then an INSERT in its own savepoint: no
    read-then-write transaction, which SQLite answers with "database is locked" under threads."""
    content_type = ContentType.objects.get_for_model(type(obj))
    values = {
        "remote_id": str(remote_id),
        "remote_version": str(version or ""),
        "remote_updated_at": remote_updated_at,
        "last_synced_at": timezone.now() if synced_at is NOW else synced_at,
    }
    key = {"connection": connection, "content_type": content_type, "object_id": str(obj.pk)}
    if not ExternalRef.objects.filter(**key).update(**values, updated_at=timezone.now()):
        try:
            with transaction.atomic():
                ExternalRef.objects.create(business_id=connection.business_id, **key, **values)
        except IntegrityError:  # linked by a concurrent run a moment ago (else: a real conflict)
            if not ExternalRef.objects.filter(**key).update(**values, updated_at=timezone.now()):
                raise
    return ExternalRef.objects.get(**key)
