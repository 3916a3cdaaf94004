"""Vendor connections and their mappings. Credentials are write-only here: shown masked, replaced
whole, never rendered back into a page or a message."""

from __future__ import annotations

import json
from contextvars import ContextVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from apps.core.admin.base import (
    ServiceRefusal,
    TenantModelForm,
    TenantScopedAdmin,
    TenantStackedInline,
    TenantTabularInline,
)
from apps.core.admin.display import GRAY, GREEN, ORANGE, RED, badge, pretty_json
from apps.core.errors import DomainError
from apps.core.timezones import format_local, zone_of
from apps.integrations.admin.backfill import ConnectionBackfillMixin
from apps.integrations.models import (
    AccountMapping,
    ConnectionStatus,
    IntegrationConnection,
    SyncLog,
    SyncMapping,
)
from apps.integrations.providers import (
    credentials_parse,
    provider_class_for,
    settings_fields_for,
    settings_parse,
)
from apps.integrations.redaction import redact
from apps.integrations.schedules import connection_schedule_rows, schedule_describe
from apps.integrations.schema import SettingsInvalid

from .schedules import ScheduleForm

_can_open_schedules: ContextVar[bool] = ContextVar("can_open_schedules", default=False)
_schedules_edit_url: ContextVar[str | None] = ContextVar("schedules_edit_url", default=None)

CONNECTION_COLORS = {
    ConnectionStatus.CONNECTED: GREEN,
    ConnectionStatus.NEEDS_RECONNECT: ORANGE,
    ConnectionStatus.ERROR: RED,
    ConnectionStatus.PENDING: GRAY,
    ConnectionStatus.DISABLED: GRAY,
}


class WriteOnlyTextarea(forms.Textarea):
    """Like a password input: what was typed is never echoed back, even on a form error."""

    def format_value(self, value):
        return None


class ConnectionForm(TenantModelForm):
    replace_credentials = forms.CharField(
        label="Replace credentials",
        required=False,
        strip=True,
        widget=WriteOnlyTextarea(attrs={"rows": 4, "autocomplete": "off", "spellcheck": "false"}),
        help_text=(
            'A JSON object, e.g. {"client_id": "...", "client_secret": "..."}. It replaces all '
            "stored credentials. Leave blank to keep them. Never shown again after saving."
        ),
    )

    def clean_replace_credentials(self) -> dict | None:
        text = self.cleaned_data.get("replace_credentials") or ""
        if not text:
            return None
        try:
            value = json.loads(text)
        except ValueError:
            # The parser's message quotes the input, which may be a secret: give our own.
            raise forms.ValidationError(
                'The credentials are not valid JSON. Enter an object such as {"api_key": "..."}.'
            ) from None
        if not isinstance(value, dict) or not value:
            raise forms.ValidationError(
                "Enter the credentials as a JSON object of names and values."
            )
        return value

    def _provider(self) -> str:
        return self.cleaned_data.get("provider") or self.instance.provider or ""

    def clean(self):
        """Settings and credentials parsed by the provider's declarations, as the CLI and the
        services do: unknown keys and bad values are form errors, values are stored typed."""
        data = super().clean()
        provider = self._provider()
        if not provider:
            return data
        if "settings" in data and not self.has_error("settings"):
            self._clean_settings(provider, data)
        if data.get("replace_credentials") and not self.has_error("replace_credentials"):
            try:
                data["replace_credentials"] = credentials_parse(
                    provider, data["replace_credentials"]
                )
            except SettingsInvalid as exc:  # reasons only: a value may be a secret
                for key, reason in exc.errors.items():
                    self.add_error("replace_credentials", f"{key}: {reason}")
        if data.get("api_base_url") and (cls := provider_class_for(provider)):
            data["api_base_url"] = cls.normalize_base_url(data["api_base_url"])
        return data

    def _clean_settings(self, provider: str, data: dict) -> None:
        settings = data.get("settings")
        if settings in (None, ""):
            settings = {}
        if not isinstance(settings, dict):
            self.add_error("settings", "Enter the settings as a JSON object of names and values.")
            return
        # Keys the connection records itself (company name, home currency) come back unchanged
        # from the page; they are kept as stored, never set from here.
        stored = (self.instance.settings or {}) if self.instance.pk else {}
        system = {f.name for f in settings_fields_for(provider) if not f.editable}
        kept = {k: v for k, v in settings.items() if k in system and stored.get(k) == v}
        try:
            typed = settings_parse(provider, {k: v for k, v in settings.items() if k not in kept})
        except SettingsInvalid as exc:
            for key, reason in exc.errors.items():
                self.add_error("settings", f"{key}: {reason}")
            return
        data["settings"] = {**kept, **{k: v for k, v in typed.items() if v is not None}}


class AccountMappingInline(TenantTabularInline):
    model = AccountMapping
    fields = ("kind", "local_key", "remote_id", "remote_name")


class SyncMappingInline(TenantStackedInline):
    model = SyncMapping
    fields = (("local_resource", "remote_resource"), ("direction", "enabled"), "field_mappings")


@admin.register(IntegrationConnection)
class IntegrationConnectionAdmin(ConnectionBackfillMixin, TenantScopedAdmin):
    form = ConnectionForm
    list_display = (
        "name",
        "provider",
        "environment",
        "status_badge",
        "sync_enabled",
        "last_sync_at",
        "last_error_short",
    )
    list_filter = ("provider", "status", "environment", "sync_enabled")
    search_fields = ("name", "external_account_id")
    exclude = ("credentials",)
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    readonly_fields = (
        "status_badge",
        "credentials_display",
        "last_sync_at",
        "last_error_display",
        "last_error_at",
        "schedules",
        "backfill",
    )
    fieldsets = (
        (None, {"fields": ("provider", "name", "environment", "status_badge")}),
        ("Credentials", {"fields": ("credentials_display", "replace_credentials")}),
        ("Vendor account", {"fields": ("external_account_id", "api_base_url", "settings")}),
        ("Sync", {"fields": ("sync_enabled", "last_sync_at", "schedules", "backfill")}),
        ("Last error", {"fields": ("last_error_display", "last_error_at")}),
    )
    inlines = (AccountMappingInline, SyncMappingInline)
    actions = ("test_connection", "sync_now")

    @admin.display(description="backfill")
    def backfill(self, obj: IntegrationConnection):
        return self.backfill_link(obj)

    # --- display ---------------------------------------------------------------------------------
    @admin.display(description="status", ordering="status")
    def status_badge(self, obj: IntegrationConnection):
        return badge(obj.get_status_display(), CONNECTION_COLORS.get(obj.status, GRAY))

    @admin.display(description="credentials")
    def credentials_display(self, obj: IntegrationConnection):
        masked = obj.masked_credentials
        if not masked:
            return "(none stored)"
        return format_html(
            "<table>{}</table>",
            format_html_join(
                "", "<tr><td><code>{}</code></td><td>{}</td></tr>", sorted(masked.items())
            ),
        )

    @admin.display(description="last error")
    def last_error_short(self, obj: IntegrationConnection) -> str:
        text = redact(obj.last_error, obj.secret_values())
        return text[:80] + ("…" if len(text) > 80 else "")

    @admin.display(description="last error")
    def last_error_display(self, obj: IntegrationConnection):
        # Services store errors redacted already; redact again in case a secret was rotated in.
        return pretty_json(redact(obj.last_error, obj.secret_values())) if obj.last_error else "-"

    @admin.display(description="schedules")
    def schedules(self, obj: IntegrationConnection):
        if obj.pk is None:
            return "-"
        rows = connection_schedule_rows(obj)
        edit = _schedules_edit_url.get()
        edit_link = format_html('<p><a href="{}">Edit schedules</a></p>', edit) if edit else ""
        if not rows:
            return format_html("No scheduled syncs.{}", edit_link)
        can_open = _can_open_schedules.get()

        def cell(task):
            if not can_open:
                return format_html("{}", task.name)
            url = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
            return format_html('<a href="{}">{}</a>', url, task.name)

        return format_html(
            "<table><tr><th>task</th><th>runs</th><th>enabled</th><th>last run</th></tr>{}"
            "</table>{}",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        cell(t),
                        schedule_describe(t),
                        "yes" if t.enabled else "no",
                        format_local(t.last_run_at) or "never",
                    )
                    for t in rows
                ),
            ),
            edit_link,
        )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # Readonly display methods get no request; a context variable (safe across threads)
        # tells `schedules` whether this user may open the beat rows it links to.
        token = _can_open_schedules.set(
            request.user.has_perm("django_celery_beat.view_periodictask")
        )
        edit = None
        if object_id is not None and self.has_change_permission(request):
            edit = reverse("admin:integrations_integrationconnection_schedules", args=[object_id])
        edit_token = _schedules_edit_url.set(edit)
        try:
            response = super().changeform_view(request, object_id, form_url, extra_context)
            if hasattr(response, "render"):
                response.render()  # a TemplateResponse renders late, after the reset below
            return response
        finally:
            _can_open_schedules.reset(token)
            _schedules_edit_url.reset(edit_token)

    def get_urls(self):
        view = self.admin_site.admin_view(self.schedules_view)
        return [
            path(
                "<path:object_id>/schedules/",
                view,
                name="integrations_integrationconnection_schedules",
            ),
            *self.backfill_urls(),
            *super().get_urls(),
        ]

    def schedules_view(self, request, object_id):
        """Edit when each resource syncs, in the business's local time."""
        connection = self.get_object(request, unquote(object_id))
        if connection is None:
            raise Http404("No such connection.")
        if not self.has_change_permission(request, connection):
            raise PermissionDenied
        form = ScheduleForm(request.POST or None, connection=connection)
        if request.method == "POST" and form.is_valid():
            try:
                changed = form.save()  # all lines or none
            except DomainError as exc:
                form.add_error(None, exc.message)
            else:
                message = f"Schedules saved: {', '.join(changed)}." if changed else "No changes."
                self.message_user(request, message, messages.SUCCESS)
                return HttpResponseRedirect(
                    reverse("admin:integrations_integrationconnection_change", args=[connection.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Sync schedules: {connection}",
            "opts": self.model._meta,
            "original": connection,
            "form": form,
            "zone": zone_of(connection.business),
        }
        return render(request, "admin/integrations/integrationconnection/schedules.html", context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is not None and "settings" in form.base_fields:
            fields = [f for f in settings_fields_for(obj.provider) if f.editable]
            form.base_fields["settings"].help_text = (
                "A JSON object; this provider takes: "
                + ", ".join(f"{f.name} ({f.type})" for f in fields)
                + ". See docs/integrations-reference.md or `manage.py integrations describe "
                + f"{obj.provider}`."
            )
        return form

    # --- saving ----------------------------------------------------------------------------------
    def save_model(self, request, obj, form, change):
        credentials = form.cleaned_data.get("replace_credentials")
        if not change:
            from apps.integrations.services import connection_defaults_ensure

            if credentials is not None:
                obj.credentials = credentials
            super().save_model(request, obj, form, change)
            # The same defaults as a connection set up from the CLI or the API.
            connection_defaults_ensure(connection=obj)
            return None
        # Only the edited columns: a token refresh may have rewritten the credentials meanwhile.
        editable = {f.name for f in IntegrationConnection._meta.concrete_fields if f.editable}
        changed = [name for name in form.changed_data if name in editable]
        if changed:
            obj.save(update_fields=[*changed, "updated_at"])
        if credentials is not None:
            from apps.integrations.services import connection_credentials_replace

            try:
                connection_credentials_replace(connection=obj, credentials=credentials)
            except DomainError as exc:
                raise ServiceRefusal(exc, field="replace_credentials") from exc
        return None

    # --- actions ---------------------------------------------------------------------------------
    @admin.action(description="Test connection", permissions=["view"])
    def test_connection(self, request, queryset):
        from apps.integrations.services import connection_test

        for connection in queryset:
            try:
                check = connection_test(connection=connection)
                ok, message = check.ok, check.message
            except DomainError as exc:
                ok, message = False, exc.message
            message = redact(
                message or ("Connected." if ok else "Failed."), connection.secret_values()
            )
            level = messages.SUCCESS if ok else messages.ERROR
            self.message_user(request, f"{connection}: {message}", level)

    @admin.action(description="Sync now", permissions=["view"])
    def sync_now(self, request, queryset):
        from apps.integrations.services import sync_request

        for connection in queryset:
            try:
                logs = sync_request(
                    connection=connection, resources=None, trigger=SyncLog.Trigger.MANUAL
                )
            except DomainError as exc:
                message = redact(exc.message, connection.secret_values())
                self.message_user(request, f"{connection}: {message}", messages.ERROR)
                continue
            resources = ", ".join(log.sync_type for log in logs) or "nothing"
            self.message_user(
                request, f"{connection}: sync queued for {resources}.", messages.SUCCESS
            )


@admin.register(AccountMapping)
class AccountMappingAdmin(TenantScopedAdmin):
    list_display = ("local_key", "kind", "remote_id", "remote_name", "connection")
    list_filter = ("kind", "connection")
    search_fields = ("local_key", "remote_id", "remote_name")
    list_select_related = ("connection",)


@admin.register(SyncMapping)
class SyncMappingAdmin(TenantScopedAdmin):
    list_display = ("local_resource", "direction", "remote_resource", "enabled", "connection")
    list_filter = ("direction", "enabled", "connection")
    search_fields = ("local_resource", "remote_resource")
    list_select_related = ("connection",)
