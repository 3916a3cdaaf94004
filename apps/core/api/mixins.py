"""Tenant scoping for API views, after PostHog's TeamAndOrgViewSetMixin.

Every queryset a view sees starts from, and ends with, the caller's business. Views add their own
narrowing in `safely_get_queryset`; they cannot override `get_queryset`, so a new endpoint cannot
forget the business filter. Another business's id therefore answers exactly like a missing id.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied

from apps.core.api.permissions import IsBusinessMember
from apps.core.models import Business
from apps.core.tenancy import scoped


class BusinessContextMixin:
    """The caller's business, and its time zone active while the request runs.

    With the business's zone active, DRF renders datetimes with the local offset
    (2025-06-05T23:30:00-06:00) and reads naive input as local time: what a technician means.
    """

    @property
    def business(self) -> Business:
        cached = getattr(self, "_business", None)
        if cached is not None:
            return cached
        user = getattr(self.request, "user", None)
        business = getattr(user, "business", None) if user is not None else None
        if business is None:
            # Normally IsBusinessMember refuses first; this keeps a view that swaps its
            # permission classes from ever running unscoped.
            raise PermissionDenied(IsBusinessMember.message)
        self._business = business
        return business

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication and permissions first
        timezone.activate(self.business.timezone)

    def finalize_response(self, request, response, *args, **kwargs):
        # Runs on success and on error alike, so the zone never leaks into the next request.
        timezone.deactivate()
        return super().finalize_response(request, response, *args, **kwargs)


class BusinessScopedViewSetMixin(BusinessContextMixin):
    """Base for every tenant viewset. Set `queryset` and narrow in `safely_get_queryset`;
    the business filter is applied both before and after that hook."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(
                f"{cls.__name__} overrides get_queryset, which would bypass the business "
                "filter. Override safely_get_queryset(queryset) instead."
            )

    def safely_get_queryset(self, queryset: models.QuerySet) -> models.QuerySet:
        """Hook for per-view filtering, joins and ordering. Receives an already scoped queryset."""
        return queryset

    def get_queryset(self) -> models.QuerySet:
        base = self.queryset
        assert base is not None, f"{type(self).__name__} must set `queryset`."
        business = self.business
        narrowed = self.safely_get_queryset(scoped(base.all(), business=business))
        # Re-applied so a hook returning Model.objects.all() still cannot see other businesses.
        return scoped(narrowed, business=business)
