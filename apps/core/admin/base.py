"""The tenant-scoped admin every back-office screen stands on.

A user bound to a business sees, picks and creates rows of that business only: querysets, foreign
key choices, list filters and the business of new rows all come from request.user.business. A
platform superuser (no business) sees everything and picks the business when adding.

Opening another business's row by URL goes through get_queryset, so Django answers exactly as for
a missing row ("... doesn't exist"), and nothing of the other business is rendered.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.options import flatten_fieldsets
from django.contrib.admin.utils import NotRelationField, get_fields_from_path, unquote
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.forms.models import BaseInlineFormSet
from django.utils import timezone

from apps.core.errors import DomainError
from apps.core.models import Business
from apps.core.timezones import zone_of

from .local_time import LocalSplitDateTimeField, LocalSplitDateTimeWidget, bind_stored_values

AUDIT_FIELDS = ("created_at", "updated_at")


def request_business(request) -> Business | None:
    """The business the signed-in user works for; None only for a platform superuser."""
    return getattr(request.user, "business", None)


def is_platform_admin(request) -> bool:
    return request.user.is_superuser and request_business(request) is None


def model_has_field(model, name: str) -> bool:
    try:
        model._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


def has_business_field(model) -> bool:
    return model_has_field(model, "business")


class ServiceRefusal(Exception):
    """A service refused the save; the admin re-renders the form with the message on `field`."""

    def __init__(self, error: DomainError, *, field: str | None = None):
        super().__init__(error.message)
        self.message = error.message
        self.field = field if field is not None else error.field


class TenantModelForm(forms.ModelForm):
    """Sets the business before model validation and refuses rows that mix businesses.

    The admin builds a subclass per request with `tenant_business` (the user's business, or None
    for a platform superuser) and `service_refusal` (set on the second pass after a refusal).
    """

    tenant_business: Business | None = None
    service_refusal: ServiceRefusal | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bind_stored_values(self)

    def clean(self):
        data = super().clean()
        unset = not getattr(self.instance, "business_id", None)
        if self.tenant_business is not None and unset and has_business_field(self._meta.model):
            self.instance.business = self.tenant_business
        self._check_one_business(data)
        if self.service_refusal is not None:
            field = self.service_refusal.field
            self.add_error(field if field in self.fields else None, self.service_refusal.message)
        return data

    def _target_business_id(self, data) -> int | None:
        chosen = data.get("business")
        if isinstance(chosen, Business):
            return chosen.pk
        return getattr(self.instance, "business_id", None)

    def _check_one_business(self, data) -> None:
        # Only a platform superuser can reach rows of several businesses; stop them linking a
        # work order of one tenant to a customer of another.
        target = self._target_business_id(data)
        if target is None:
            return
        for name, value in list(data.items()):
            if name == "business":
                continue
            values = value if isinstance(value, models.QuerySet | list | tuple) else [value]
            for item in values:
                item_business = getattr(item, "business_id", None)
                if isinstance(item, models.Model) and item_business not in (None, target):
                    self.add_error(name, f"{item} belongs to another business.")
                    break

    def _get_validation_exclusions(self):
        # The business is not a form field for office users, but unique constraints that include
        # it (e.g. category code per business) must still be checked before saving.
        exclude = super()._get_validation_exclusions()
        if getattr(self.instance, "business_id", None):
            exclude.discard("business")
        return exclude


class TenantInlineFormSet(BaseInlineFormSet):
    """Inline rows take the parent's business, so they validate and save inside the tenant."""

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        self._adopt_business(form.instance)
        return form

    def save_new(self, form, commit=True):
        self._adopt_business(form.instance)
        return super().save_new(form, commit=commit)

    def _adopt_business(self, child) -> None:
        parent_business = getattr(self.instance, "business_id", None)
        if parent_business and hasattr(child, "business_id") and not child.business_id:
            child.business_id = parent_business


class TenantScopedFieldsMixin:
    """Foreign key and many-to-many choices limited to the user's business; date-time inputs in
    the active (the business's) time zone, labelled with it."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.DateTimeField) and not db_field.choices:
            kwargs = {
                "form_class": LocalSplitDateTimeField,
                "widget": LocalSplitDateTimeWidget,
                **kwargs,
            }
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def _scope_choices(self, db_field, request, kwargs) -> None:
        business = request_business(request)
        related = db_field.remote_field.model
        if business is None:
            return
        queryset = kwargs.get("queryset")
        if queryset is None:
            queryset = self.get_field_queryset(None, db_field, request)
        if queryset is None:
            queryset = related._default_manager.all()
        if related is Business:
            kwargs["queryset"] = queryset.filter(pk=business.pk)
        elif has_business_field(related):
            kwargs["queryset"] = queryset.filter(business=business)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        self._scope_choices(db_field, request, kwargs)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        self._scope_choices(db_field, request, kwargs)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if not has_business_field(self.model):
            return qs
        business = request_business(request)
        if business is not None:
            return qs.filter(business=business)
        return qs if request.user.is_superuser else qs.none()


class TenantScopedAdmin(TenantScopedFieldsMixin, admin.ModelAdmin):
    """Base ModelAdmin for every tenant model (anything with a `business` foreign key)."""

    form = TenantModelForm
    # False where the business follows from another field (a payment takes its invoice's).
    pick_business = True
    list_per_page = 50

    # --- forms -----------------------------------------------------------------------------------
    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if not issubclass(form, TenantModelForm):
            return form
        attrs = {
            "tenant_business": request_business(request),
            "service_refusal": getattr(request, "_admin_service_refusal", None),
        }
        return type(form.__name__, (form,), attrs)

    def _shows_business(self, request, obj) -> bool:
        if not (has_business_field(self.model) and is_platform_admin(request)):
            return False
        return obj is not None or self.pick_business

    def get_fieldsets(self, request, obj=None):
        fieldsets = [(name, dict(opts)) for name, opts in super().get_fieldsets(request, obj)]
        audit = [f for f in AUDIT_FIELDS if obj is not None and model_has_field(self.model, f)]
        listed = set(flatten_fieldsets(fieldsets))
        for _name, opts in fieldsets:
            opts["fields"] = [f for f in opts["fields"] if f != "business"]
        if self._shows_business(request, obj):
            first = fieldsets[0][1]
            first["fields"] = ["business", *first["fields"]]
        missing_audit = [f for f in audit if f not in listed]
        if missing_audit:
            fieldsets.append(("Record", {"fields": missing_audit, "classes": ["collapse"]}))
        return [(name, opts) for name, opts in fieldsets if opts["fields"]]

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # Moving a row to another tenant would orphan everything hanging off it.
            readonly += [f for f in ("business", *AUDIT_FIELDS) if model_has_field(self.model, f)]
        return list(dict.fromkeys(readonly))

    # --- lists -----------------------------------------------------------------------------------
    def get_list_display(self, request):
        columns = [c for c in super().get_list_display(request) if c != "business"]
        if has_business_field(self.model) and is_platform_admin(request):
            columns.append("business")
        return columns

    def get_list_filter(self, request):
        filters = [
            self._related_only(f) for f in super().get_list_filter(request) if f != "business"
        ]
        if has_business_field(self.model) and is_platform_admin(request):
            filters.insert(0, ("business", admin.RelatedOnlyFieldListFilter))
        return filters

    def _related_only(self, entry):
        # The stock related filter lists every row of the related model, other tenants included;
        # the related-only filter lists just the values present in the (scoped) changelist.
        if not isinstance(entry, str):
            return entry
        try:
            field = get_fields_from_path(self.model, entry)[-1]
        except (FieldDoesNotExist, NotRelationField):
            return entry
        if field.is_relation and (field.many_to_one or field.many_to_many or field.one_to_one):
            return (entry, admin.RelatedOnlyFieldListFilter)
        return entry

    # --- saving ----------------------------------------------------------------------------------
    def save_model(self, request, obj, form, change):
        business = request_business(request)
        if not change and business is not None and has_business_field(self.model):
            obj.business = business
        super().save_model(request, obj, form, change)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        zone = self._row_zone(request, object_id)
        if zone is None:
            return self._changeform_retrying(request, object_id, form_url, extra_context)
        # A platform superuser on one business's row reads and types that business's local
        # time, as its dispatchers do; rendered here, inside the zone (a TemplateResponse
        # would otherwise render after it is left).
        with timezone.override(zone):
            response = self._changeform_retrying(request, object_id, form_url, extra_context)
            if hasattr(response, "render"):
                response.render()
            return response

    def _changeform_retrying(self, request, object_id, form_url, extra_context):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefusal as refusal:
            # The POST's transaction has been rolled back, so nothing was saved. Render the same
            # submission again; the form shows the service's message as a validation error.
            request._admin_service_refusal = refusal
            return super().changeform_view(request, object_id, form_url, extra_context)

    def _row_zone(self, request, object_id):
        """The row's business zone, for a platform superuser only (office users already work in
        their own zone, set by BusinessTimezoneMiddleware)."""
        if object_id is None or not is_platform_admin(request):
            return None
        if not has_business_field(self.model):
            return None
        obj = self.get_object(request, unquote(object_id))
        business = getattr(obj, "business", None) if obj is not None else None
        return zone_of(business) if business is not None else None


class TenantScopedInlineMixin(TenantScopedFieldsMixin):
    form = TenantModelForm
    formset = TenantInlineFormSet
    extra = 0

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        if has_business_field(self.model):
            exclude.append("business")
        return exclude


class TenantTabularInline(TenantScopedInlineMixin, admin.TabularInline):
    pass


class TenantStackedInline(TenantScopedInlineMixin, admin.StackedInline):
    pass


class ReadOnlyAdminMixin:
    """Records written by the system (audit, sync runs, webhooks): looked at, never edited."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyInlineMixin(ReadOnlyAdminMixin):
    """History shown beside its parent: never added, edited or removed from here."""

    can_delete = False
    extra = 0
    max_num = 0
    show_change_link = True
