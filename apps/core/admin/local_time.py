"""Date-and-time inputs that say which zone they are in and read what is typed as local time.

Every admin form of a tenant model uses these for its DateTimeFields (TenantScopedFieldsMixin).
A local time that does not exist (the spring-forward gap) or happens twice (the fall-back hour)
is a form error that says so and what to enter instead, never a guess and never a 500. A time
in the repeated hour that was already saved is kept as the instant it was, so re-saving a form
without touching it never fails.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.core.timezones import local_time_problem, zone_label


class LocalSplitDateTimeWidget(AdminSplitDateTime):
    template_name = "admin/widgets/local_split_datetime.html"

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        # The abbreviation valid for the value shown (MDT in July, MST in December).
        moment = value if isinstance(value, dt.datetime) and timezone.is_aware(value) else None
        context["zone_label"] = zone_label(moment)
        return context


class LocalSplitDateTimeField(forms.SplitDateTimeField):
    widget = LocalSplitDateTimeWidget

    # The aware value the row holds now, set by the form (`bind_stored_values`).
    stored_value: dt.datetime | None = None

    def compress(self, data_list):
        if not data_list:
            return None
        if data_list[0] in self.empty_values:
            raise ValidationError(self.error_messages["invalid_date"], code="invalid_date")
        if data_list[1] in self.empty_values:
            raise ValidationError(self.error_messages["invalid_time"], code="invalid_time")
        naive = dt.datetime.combine(*data_list)
        zone = timezone.get_current_timezone()
        problem = local_time_problem(naive, zone)
        if problem is None:
            return timezone.make_aware(naive, zone)
        kept = self.stored_value
        if kept is not None and _wall_clock(kept, zone) == naive.replace(microsecond=0):
            return kept
        raise ValidationError(problem, code="ambiguous_timezone")


def _wall_clock(moment: dt.datetime, zone) -> dt.datetime:
    return timezone.localtime(moment, zone).replace(tzinfo=None, microsecond=0)


def bind_stored_values(form: forms.BaseForm) -> None:
    """Tell each local date-time field of a bound model form what its row holds now."""
    for name, field in form.fields.items():
        if isinstance(field, LocalSplitDateTimeField):
            initial = form.initial.get(name)
            field.stored_value = initial if isinstance(initial, dt.datetime) else None
