"""The admin site: task navigation, the day's dashboard as the front page, the dispatch board."""

from __future__ import annotations

import functools

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone

from .access import business_choices, office_business
from .days import business_zone
from .navigation import task_sections

# The dashboard and the board read other apps whose admin modules register on this site, so they
# are imported when first used, not while the site itself is being created.


class BackofficeSite(admin.AdminSite):
    site_header = "Thorbis"
    site_title = "Thorbis"
    index_title = "Today"
    index_template = "backoffice/dashboard.html"

    def get_app_list(self, request, app_label=None):
        # An app's own index (/admin/core/) keeps Django's grouping; everything else is by task.
        if app_label is not None:
            return super().get_app_list(request, app_label)
        models = {
            item["model"]._meta.label_lower: item
            for app in self._build_app_dict(request).values()
            for item in app["models"]
        }
        return task_sections(request=request, models=models)

    def index(self, request, extra_context=None):
        context = {**self.each_context(request), "title": "Today", "subtitle": None}
        try:
            business = office_business(request)
        except PermissionDenied:
            business = None  # no work-order permission: the navigation alone
        if business is None:
            context.update(extra_context or {})
            request.current_app = self.name
            return TemplateResponse(request, self.index_template, context)
        from .dashboard import dashboard_for

        with timezone.override(business_zone(business)):
            context["dashboard"] = dashboard_for(business=business)
            context["businesses"] = business_choices(request)
            context["business"] = business
            context.update(extra_context or {})
            request.current_app = self.name
            # Rendered here, so every time on the page reads in the business's zone.
            return TemplateResponse(request, self.index_template, context).render()

    def get_urls(self):
        from .board import views as board

        page = self.admin_view(functools.partial(board.board_page, admin_site=self))
        return [
            path("dispatch/", page, name="dispatch_board"),
            path(
                "dispatch/board.json",
                board.guarded_json(board.board_data, self),
                name="dispatch_board_data",
            ),
            path(
                "dispatch/move/", board.guarded_json(board.board_move, self), name="dispatch_move"
            ),
            *super().get_urls(),
        ]
