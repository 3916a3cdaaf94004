"""Tenant isolation. Every lookup of tenant data goes through the caller's business.

A row of another business is answered exactly like a missing row (404), so ids leak nothing.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import models
from django.http import Http404

M = TypeVar("M", bound=models.Model)


class NoBusiness(Exception):
    """The user belongs to no business, so there is nothing they may see."""


def business_of(user) -> object:
    business = getattr(user, "business", None)
    if business is None:
        raise NoBusiness(f"user {user.pk} belongs to no business")
    return business


def scoped(queryset: models.QuerySet[M] | type[M], *, business) -> models.QuerySet[M]:
    """The queryset limited to one business. Works for any model that has a `business` field."""
    qs = queryset._default_manager.all() if isinstance(queryset, type) else queryset
    return qs.filter(business=business)


def get_for_business_or_404(queryset: models.QuerySet[M] | type[M], *, business, **lookup) -> M:
    """Missing and not-yours look the same: both raise Http404 with the same message."""
    qs = scoped(queryset, business=business)
    try:
        return qs.get(**lookup)
    except (qs.model.DoesNotExist, ValueError, TypeError):
        raise Http404(f"No {qs.model._meta.verbose_name} matches the given query.") from None
