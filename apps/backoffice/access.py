"""Who may use the back office's own pages, and for which business."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied

from apps.core.models import Business


def office_business(
    request, *, perm: str = "core.view_workorder", picked: object = None
) -> Business:
    """The business the page is for: the user's own, or the one a platform superuser picked.

    Office staff only (dispatchers, managers, administrators, platform superusers); a platform
    superuser picks with ?business=<id> and gets the first business by name otherwise.
    """
    user = request.user
    if not (user.is_active and user.is_staff and (user.is_superuser or user.is_office_staff)):
        raise PermissionDenied("The back office is for office staff.")
    if not user.has_perm(perm):
        raise PermissionDenied("Your role does not include this page.")
    business = getattr(user, "business", None)
    if business is not None:
        return business
    picked = picked if picked is not None else request.GET.get("business")
    chosen = Business.objects.filter(pk=picked).first() if str(picked or "").isdigit() else None
    chosen = chosen or Business.objects.order_by("name", "pk").first()
    if chosen is None:
        raise PermissionDenied("There is no business yet.")
    return chosen


def business_choices(request) -> list[Business]:
    """Businesses a platform superuser can switch between; empty for everyone else."""
    if getattr(request.user, "business", None) is not None or not request.user.is_superuser:
        return []
    return list(Business.objects.order_by("name", "pk"))
