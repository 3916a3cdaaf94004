"""Readable labels everywhere: no stored code ("en_route"), no "Model object (12)", no ASCII
arrows, no Django-made plurals like "deliverys", on any admin list or change page."""

import html
import re

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from apps.core.models import WorkOrderStatusChange
from apps.core.services.work_orders import work_order_transition
from apps.monitoring.models import WeeklyReportDelivery

REGISTRY = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def _codes() -> set[str]:
    """Every stored choice value that is not already a plain word."""
    found = set()
    for model in apps.get_models():
        for field in model._meta.get_fields():
            for value, _label in getattr(field, "flatchoices", None) or []:
                if isinstance(value, str) and "_" in value:
                    found.add(value)
    return found


CODES = _codes()


def visible_text(page: str) -> str:
    page = re.sub(r"<(script|style|select|textarea|pre|code)[^>]*>.*?</\1>", " ", page, flags=re.S)
    page = re.sub(r"<[^>]+>", " ", page)
    return html.unescape(page)


def problems(text: str) -> list[str]:
    found = [m.group(0) for m in re.finditer(r"\b\w+ object \(\d+\)", text)]
    found += [m.group(0) for m in re.finditer(r"\w+ -> \w+", text)]
    found += [w for w in ("deliverys",) if w in text]
    words = set(re.findall(r"\b[a-z]+(?:_[a-z]+)+\b", text))
    found += sorted(words & CODES)
    return found


def test_plurals_are_english():
    assert WeeklyReportDelivery._meta.verbose_name_plural == "weekly report deliveries"
    for model in apps.get_models():
        assert not model._meta.verbose_name_plural.endswith("ys"), model._meta.label


def test_status_history_reads_as_labels(own):
    change = WorkOrderStatusChange.objects.filter(work_order=own.work_order).first()
    assert str(change) == f"{own.work_order.number}: New \u2192 Scheduled"
    assert str(own.required_part) == f"1 \u00d7 {own.part} for {own.work_order.number}"


@pytest.mark.parametrize(
    ("model", "model_admin"), REGISTRY, ids=[m._meta.label for m, _ in REGISTRY]
)
def test_admin_pages_show_labels_not_codes(model, model_admin, superuser, own, client):
    # A job that went through the field statuses, so "en_route" and "on_site" are in its history.
    work_order_transition(work_order=own.work_order, to_status="dispatched", by=None)
    work_order_transition(work_order=own.work_order, to_status="en_route", by=None)
    client.force_login(superuser)
    info = (model._meta.app_label, model._meta.model_name)
    pages = [reverse("admin:{}_{}_changelist".format(*info))]
    pages += [
        reverse("admin:{}_{}_change".format(*info), args=[obj.pk])
        for obj in model._default_manager.all()[:2]
    ]
    for url in pages:
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        assert problems(visible_text(response.content.decode())) == [], url
