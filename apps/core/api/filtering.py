"""Query filters that cannot see past the caller's business.

A foreign-key filter (`?work_order=12`) validates its value against a queryset of choices. Left to
django-filter that queryset is every row of the model, so another business's id passes validation
and answers 200 with an empty list while a missing id answers 400: an existence oracle. Here the
choices of every model filter are limited to the caller's business once, in the base class, so
another business's id answers exactly like a missing one (the same 400 and body).

Every API FilterSet derives from `BusinessFilterSet`; `BusinessFilterBackend` (the default filter
backend in settings) builds `filterset_fields` filtersets on it and refuses any other base. A
filter over a model without a `business` field must be named in `dangerously_unscoped_choices`.
"""

from __future__ import annotations

from collections.abc import Callable

import django_filters
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured
from django.db import models
from django_filters.filters import QuerySetRequestMixin
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.utils import get_model_field

from apps.core.tenancy import scoped


def _request_business(request):
    return getattr(getattr(request, "user", None), "business", None)


def _has_business(model: type[models.Model]) -> bool:
    try:
        model._meta.get_field("business")
    except FieldDoesNotExist:
        return False
    return True


def _business_choices(source, model: type[models.Model]) -> Callable:
    """The filter's own choices (a queryset or a callable of the request), then the business."""

    def choices(request) -> models.QuerySet:
        queryset = source(request) if callable(source) else source
        if queryset is None:
            queryset = model._default_manager.all()
        business = _request_business(request)
        if business is None:
            return queryset.none()  # no business, no choices: nothing to learn
        return scoped(queryset, business=business)

    return choices


class BusinessFilterSet(django_filters.FilterSet):
    """Base of every API FilterSet: model filters choose only among the caller's business's rows.

    Subclasses may narrow a filter's choices further (a callable `queryset=`); the business filter
    is applied after it, so a narrower queryset can never widen the scope.
    """

    dangerously_unscoped_choices: tuple[str, ...] = ()

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        # self.filters is this instance's deep copy of base_filters: changing it is local.
        for name, flt in self.filters.items():
            if (
                not isinstance(flt, QuerySetRequestMixin)
                or name in self.dangerously_unscoped_choices
            ):
                continue
            model = self._choice_model(flt)
            if not _has_business(model):
                raise ImproperlyConfigured(
                    f"{type(self).__name__}.{name} chooses among {model.__name__} rows, which "
                    "have no business. Scope it, or list it in dangerously_unscoped_choices."
                )
            flt.queryset = _business_choices(flt.queryset, model)

    def _choice_model(self, flt) -> type[models.Model]:
        if isinstance(flt.queryset, models.QuerySet):
            return flt.queryset.model
        return get_model_field(self._meta.model, flt.field_name).related_model


class BusinessFilterBackend(DjangoFilterBackend):
    """DjangoFilterBackend whose filtersets are always BusinessFilterSets."""

    filterset_base = BusinessFilterSet

    def get_filterset_class(self, view, queryset=None):
        filterset_class = super().get_filterset_class(view, queryset)
        if filterset_class is not None and not issubclass(filterset_class, BusinessFilterSet):
            raise ImproperlyConfigured(
                f"{type(view).__name__}.filterset_class must derive from BusinessFilterSet, so "
                "its choices are limited to the caller's business."
            )
        return filterset_class
