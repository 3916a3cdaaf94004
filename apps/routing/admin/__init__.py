"""Back office for routing: "optimize day", the plan review page (map, routes, unassigned jobs,
changes) with apply and discard, and the technicians' recent positions."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone

from apps.core.admin.base import ReadOnlyAdminMixin, TenantScopedAdmin, request_business
from apps.core.admin.display import BLUE, GRAY, GREEN, ORANGE, badge
from apps.core.errors import DomainError
from apps.core.models import Business
from apps.core.timezones import zone_label, zone_of
from apps.routing.models import RoutePlan, TechnicianLocation
from apps.routing.planning.inputs import planning_date_check
from apps.routing.planning.policy import policy as current_policy
from apps.routing.services.diff import route_plan_diff
from apps.routing.services.plans import (
    ApplyNeedsConfirmation,
    route_plan_apply,
    route_plan_create,
    route_plan_discard,
)

from .review import local_changes, review_context

STATUS_COLOURS = {
    RoutePlan.Status.DRAFT: BLUE,
    RoutePlan.Status.APPLIED: GREEN,
    RoutePlan.Status.DISCARDED: GRAY,
    RoutePlan.Status.SUPERSEDED: ORANGE,
}


class OptimizeForm(forms.Form):
    business = forms.ModelChoiceField(queryset=Business.objects.all(), required=False)
    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    time_limit = forms.FloatField(
        label="Seconds to think",
        min_value=0.5,
        max_value=30,
        initial=5,
        help_text="More time finds a little less driving on big days; 5 s suits most days.",
    )

    def __init__(self, *args, business: Business | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = business
        if business is not None:
            del self.fields["business"]
        else:
            self.fields["business"].required = True

    def clean(self):
        cleaned = super().clean()
        business = self.tenant or cleaned.get("business")
        date = cleaned.get("date")
        if business is not None and date is not None:
            # The service's own check, so the form and the API refuse the same days.
            try:
                planning_date_check(business=business, date=date, policy=current_policy())
            except DomainError as exc:
                self.add_error("date", exc.message)
        return cleaned


@admin.register(RoutePlan)
class RoutePlanAdmin(TenantScopedAdmin):
    list_display = ["date", "status_badge", "kind", "trigger", "planned", "drive", "created_at"]
    list_filter = ["status", "kind", "date"]
    date_hierarchy = "date"
    change_list_template = "admin/routing/routeplan/change_list.html"

    def has_add_permission(self, request):
        return False  # plans come from "Optimize day", never typed in

    def has_delete_permission(self, request, obj=None):
        return False  # kept as the record of what was planned and applied

    @admin.display(description="Status", ordering="status")
    def status_badge(self, plan: RoutePlan):
        return badge(plan.get_status_display(), STATUS_COLOURS[plan.status])

    @admin.display(description="Planned / unassigned")
    def planned(self, plan: RoutePlan) -> str:
        return f"{plan.kpis.get('planned', 0)} / {plan.kpis.get('unassigned', 0)}"

    @admin.display(description="Drive (min)")
    def drive(self, plan: RoutePlan):
        return plan.kpis.get("drive_minutes", 0)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("optimize/", wrap(self.optimize_view), name="routing_routeplan_optimize"),
            path("<int:pk>/review/", wrap(self.review_view), name="routing_routeplan_review"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:routing_routeplan_review", args=[object_id]))

    def optimize_view(self, request):
        if not self.has_change_permission(request):
            raise PermissionDenied
        business = request_business(request)
        form = OptimizeForm(
            request.POST or None,
            business=business,
            initial={"date": timezone.localdate(), "time_limit": 5},
        )
        if request.method == "POST" and form.is_valid():
            try:
                plan = route_plan_create(
                    business=business or form.cleaned_data["business"],
                    date=form.cleaned_data["date"],
                    by=request.user,
                    time_limit=form.cleaned_data["time_limit"],
                    trigger=f"Optimised by {request.user.get_full_name() or request.user}",
                )
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, f"Draft plan #{plan.pk} is ready to review.")
                return HttpResponseRedirect(
                    reverse("admin:routing_routeplan_review", args=[plan.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": "Optimize day",
            "form": form,
            "opts": self.model._meta,
        }
        return render(request, "admin/routing/routeplan/optimize.html", context)

    def review_view(self, request, pk: int):
        plan = self.get_queryset(request).filter(pk=pk).select_related("business").first()
        if plan is None or not self.has_view_permission(request, plan):
            raise Http404("No such plan.")
        if request.method == "POST":
            if not self.has_change_permission(request, plan):
                raise PermissionDenied
            action = request.POST.get("action")
            try:
                if action == "apply":
                    return self._apply(request, plan)
                elif action == "discard":
                    route_plan_discard(plan=plan, by=request.user)
                    messages.success(request, f"Plan #{plan.pk} discarded.")
                else:
                    messages.error(request, "Unknown action.")
            except DomainError as exc:
                messages.error(request, exc.message)
            return HttpResponseRedirect(reverse("admin:routing_routeplan_review", args=[plan.pk]))
        diff = route_plan_diff(plan=plan) if plan.status == RoutePlan.Status.DRAFT else None
        context = {
            **self.admin_site.each_context(request),
            **review_context(plan, diff),
            "title": f"Routes for {plan.date:%A %d %B %Y}",
            "opts": self.model._meta,
            "can_decide": plan.status == RoutePlan.Status.DRAFT
            and self.has_change_permission(request, plan),
        }
        # The plan's day in its business's clock, whoever looks (a platform superuser too):
        # shifts, ETAs and windows in one zone, the one the map's labels use.
        zone = zone_of(plan.business)
        with timezone.override(zone):
            noon = dt.datetime.combine(plan.date, dt.time(12), tzinfo=zone)
            context["zone_label"] = zone_label(noon, zone)  # MDT for a July plan, MST in December
            return render(request, "admin/routing/routeplan/review.html", context)

    def _apply(self, request, plan: RoutePlan):
        """Apply all of the plan or one route. If that sends jobs back to the queue, nothing
        changes until the dispatcher has read the list and confirmed."""
        technicians = _technician_ids(request)
        try:
            applied = route_plan_apply(
                plan=plan,
                by=request.user,
                technician_ids=technicians,
                confirm=request.POST.get("confirm") == "yes",
            )
        except ApplyNeedsConfirmation as exc:
            tz = zoneinfo.ZoneInfo(str(plan.business.timezone))
            context = {
                **self.admin_site.each_context(request),
                "title": f"Confirm: apply plan #{plan.pk}",
                "opts": self.model._meta,
                "plan": plan,
                "message": exc.message,
                "changes": local_changes(exc.changes, tz),
                "technicians": technicians or [],
            }
            return render(request, "admin/routing/routeplan/confirm_apply.html", context)
        if technicians is None:
            messages.success(request, f"Plan #{plan.pk} applied.")
        else:
            messages.success(
                request,
                f"Route applied: plan #{applied.pk} is now the day's plan. This draft stays open "
                "for the other routes.",
            )
        return HttpResponseRedirect(reverse("admin:routing_routeplan_review", args=[plan.pk]))


def _technician_ids(request) -> list[int] | None:
    raw = request.POST.getlist("technician")
    if not raw:
        return None
    try:
        return [int(value) for value in raw]
    except ValueError:
        raise DomainError("Pick technicians who have a route in this plan.") from None


@admin.register(TechnicianLocation)
class TechnicianLocationAdmin(ReadOnlyAdminMixin, TenantScopedAdmin):
    list_display = ["technician", "latitude", "longitude", "accuracy_m", "recorded_at"]
    list_filter = ["technician"]
    date_hierarchy = "recorded_at"
