"""The form behind a connection's "Edit schedules" page: one line per resource it can sync,
typed as minutes between runs or as a crontab in the business's local time."""

from __future__ import annotations

from django import forms
from django.db import transaction

from apps.core.errors import DomainError
from apps.core.timezones import zone_of
from apps.integrations.models import IntegrationConnection
from apps.integrations.providers import provider_class_for
from apps.integrations.schedules import (
    connection_schedule_remove,
    connection_schedule_rows,
    crontab_fields,
    crontab_text,
    schedule_describe,
)
from apps.integrations.services import connection_schedule_set


class ScheduleForm(forms.Form):
    def __init__(self, *args, connection: IntegrationConnection, **kwargs):
        super().__init__(*args, **kwargs)
        self.connection = connection
        self.zone = zone_of(connection.business)
        cls = provider_class_for(connection.provider)
        self.resources = list(cls.resources) if cls is not None else []
        current = {
            task.name.rsplit(":", 1)[1]: task for task in connection_schedule_rows(connection)
        }
        self.current = current
        for resource in self.resources:
            task = current.get(resource)
            self.fields[resource] = forms.CharField(
                label=resource.replace("_", " ").capitalize(),
                required=False,
                initial=_as_text(task),
                widget=forms.TextInput(attrs={"placeholder": "not scheduled", "size": 18}),
            )
            self.fields[f"{resource}__enabled"] = forms.BooleanField(
                label=f"{resource.replace('_', ' ').capitalize()} enabled",
                required=False,
                initial=task.enabled if task is not None else True,
            )

    def lines(self) -> list[dict]:
        """One table row per resource: its inputs and what is stored now, in words."""
        return [
            {
                "field": self[resource],
                "enabled": self[f"{resource}__enabled"],
                "now": schedule_describe(self.current[resource])
                if resource in self.current
                else "Not scheduled",
            }
            for resource in self.resources
        ]

    def clean(self):
        data = super().clean()
        for resource in self.resources:
            text = (data.get(resource) or "").strip()
            data[resource] = text
            if not text or text.isdigit():
                if text and int(text) < 1:
                    self.add_error(resource, "The interval must be at least one minute.")
                continue
            try:
                crontab_fields(text)
            except DomainError as exc:
                self.add_error(resource, exc.message)
        return data

    @transaction.atomic
    def save(self) -> list[str]:
        """Apply every line through the schedule services; returns the resources changed."""
        changed = []
        for resource in self.resources:
            text = self.cleaned_data[resource]
            enabled = self.cleaned_data[f"{resource}__enabled"]
            task = self.current.get(resource)
            if text == _as_text(task) and (task is None or task.enabled == enabled):
                continue
            if not text:
                connection_schedule_remove(connection=self.connection, resource=resource)
            elif text.isdigit():
                connection_schedule_set(
                    connection=self.connection,
                    resource=resource,
                    every_minutes=int(text),
                    enabled=enabled,
                )
            else:
                connection_schedule_set(
                    connection=self.connection, resource=resource, crontab=text, enabled=enabled
                )
            changed.append(resource)
        return changed


def _as_text(task) -> str:
    if task is None:
        return ""
    if task.interval_id and task.interval.period == "minutes":
        return str(task.interval.every)
    if task.interval_id:
        seconds = {"days": 86400, "hours": 3600, "seconds": 1}.get(task.interval.period, 60)
        return str(max(1, task.interval.every * seconds // 60))
    return crontab_text(task.crontab) if task.crontab_id else ""
