"""A "Backfill" page per connection (admin/integrations/integrationconnection/<id>/backfill/):
owe the connection what was made before it existed, from a date, then queue the sync."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from apps.core.errors import DomainError
from apps.integrations.models import IntegrationConnection, SyncLog
from apps.integrations.providers import provider_class_for

TEMPLATE = "admin/core/billing_form.html"  # the admin's generic one-form page


class BackfillForm(forms.Form):
    since = forms.DateField(
        label="From",
        help_text="Records made on or after this date (the business's time zone), YYYY-MM-DD.",
    )
    resources = forms.MultipleChoiceField(
        label="What",
        widget=forms.CheckboxSelectMultiple,
        help_text="Each record the books do not hold yet is sent once; running it again sends "
        "nothing twice.",
    )

    def __init__(self, *args, resources: tuple[str, ...], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resources"].choices = [(r, r.capitalize()) for r in resources]
        self.fields["resources"].initial = list(resources)


class ConnectionBackfillMixin:
    def backfill_urls(self):
        return [
            path(
                "<int:pk>/backfill/",
                self.admin_site.admin_view(self.backfill_view),
                name="integrations_integrationconnection_backfill",
            )
        ]

    def backfill_view(self, request, pk: int):
        # Through the tenant-scoped queryset: another business's connection is simply not found.
        connection = self.get_queryset(request).filter(pk=pk).select_related("business").first()
        if connection is None:
            raise Http404("No connection matches the given query.")
        if not self.has_change_permission(request, connection):
            raise PermissionDenied
        cls = provider_class_for(connection.provider)
        offered = tuple(getattr(cls, "backfill_resources", ()) or ())
        back = reverse("admin:integrations_integrationconnection_change", args=[connection.pk])
        if not offered:
            self.message_user(
                request, f"{connection.get_provider_display()} has no backfill.", messages.ERROR
            )
            return HttpResponseRedirect(back)
        form = BackfillForm(request.POST or None, resources=offered)
        if request.method == "POST" and form.is_valid():
            from apps.integrations.services import connection_backfill, sync_request

            resources = form.cleaned_data["resources"]
            try:
                lines = connection_backfill(
                    connection=connection, since=form.cleaned_data["since"], resources=resources
                )
                sync_request(
                    connection=connection, resources=resources, trigger=SyncLog.Trigger.MANUAL
                )
            except DomainError as exc:
                form.add_error("since" if exc.field == "since" else None, exc.message)
            else:
                for line in lines:
                    self.message_user(request, line, messages.INFO)
                self.message_user(
                    request,
                    f"{connection}: backfill owed; a sync of {', '.join(resources)} is queued.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(back)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Backfill: {connection}",
            "intro": (
                f"Send {connection.get_provider_display()} the records made before this "
                "connection existed. They go through the same outbox as everything else."
            ),
            "form": form,
            "submit_label": "Backfill and sync",
        }
        return TemplateResponse(request, TEMPLATE, context)

    def backfill_link(self, obj: IntegrationConnection):
        cls = provider_class_for(obj.provider) if obj and obj.pk else None
        if cls is None or not getattr(cls, "backfill_resources", ()):
            return "-"
        url = reverse("admin:integrations_integrationconnection_backfill", args=[obj.pk])
        since = timezone.localdate().replace(day=1)
        return format_html(
            '<a class="button" href="{}">Backfill…</a> '
            "<span class='help'>push {} made before the connection (e.g. since {})</span>",
            url,
            " and ".join(cls.backfill_resources),
            since.isoformat(),
        )
