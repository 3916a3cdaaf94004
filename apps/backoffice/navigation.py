"""The admin's navigation, organised around the dispatcher's work instead of Django apps.

Each section lists admin models (by label) and our own pages (by URL name), in the order a
dispatcher needs them, under the names they use ("Schedules", not "periodic tasks"). Framework
internals are listed only for platform superusers. A registered model that no section names still
appears, under "Other", so a new admin page can never silently vanish from the navigation.
"""

from __future__ import annotations

import dataclasses

from django.urls import NoReverseMatch, reverse


@dataclasses.dataclass(frozen=True)
class Entry:
    label: str
    model: str = ""  # "app_label.modelname"
    url_name: str = ""  # one of our pages
    query: str = ""  # a preset filter on the list, e.g. "direction__exact=inbound"
    perm: str = ""  # for pages: the permission needed to see the link
    office_only: bool = False  # pages that need a business (platform superusers have none)
    superuser_only: bool = False


@dataclasses.dataclass(frozen=True)
class Section:
    key: str
    title: str
    entries: tuple[Entry, ...]


def _m(label: str, model: str, **kwargs) -> Entry:
    return Entry(label=label, model=model, **kwargs)


def _internal(label: str, model: str) -> Entry:
    return Entry(label=label, model=model, superuser_only=True)


SECTIONS: tuple[Section, ...] = (
    Section(
        "dispatch",
        "Dispatch",
        (
            Entry("Dispatch board", url_name="admin:dispatch_board", perm="core.view_workorder"),
            _m("Route plans", "routing.routeplan"),
            _m("Technicians' positions", "routing.technicianlocation"),
            _m("Technicians", "core.technician"),
            _m("Van stock", "core.vanstock"),
        ),
    ),
    Section(
        "jobs",
        "Jobs and customers",
        (
            _m("Work orders", "core.workorder"),
            _m("Customers", "core.customer"),
            _m("Service locations", "core.servicelocation"),
            _m("Equipment", "core.equipment"),
            _m("Equipment charging data", "diagnostics.equipmentprofile"),
            _m("Status history", "core.workorderstatuschange"),
            _m("Work order lines", "core.lineitem"),
            _m("Required parts", "core.workorderpart"),
            _m("Diagnostic reports", "diagnostics.diagnosticreport"),
            _m("Readings", "diagnostics.reading"),
            _m("Findings", "diagnostics.finding"),
        ),
    ),
    Section(
        "billing",
        "Billing",
        (
            _m("Invoices", "core.invoice"),
            _m("Payments", "core.payment"),
            _m("Card refunds", "payments.refund"),
            _m("Maintenance agreements", "payments.maintenanceagreement"),
            _m("Maintenance plans", "payments.maintenanceplan"),
            _m("Payment links", "payments.paymentlink"),
            _m("Card payments", "payments.stripepaymentintent"),
            _m("Saved payment methods", "payments.savedpaymentmethod"),
            _m("Disputes", "payments.dispute"),
            _m("Payment alerts", "payments.paymentalert"),
        ),
    ),
    Section(
        "messages",
        "Messages",
        (
            _m("Conversations", "comms.communicationlog", query="direction__exact=inbound"),
            _m("Message templates", "comms.messagetemplate"),
            _m("Message log", "comms.communicationlog"),
            _m("Scheduled messages", "comms.scheduledmessage"),
            _m("Text consent", "comms.consentrecord"),
            _m("Email suppressions", "comms.emailsuppression"),
        ),
    ),
    Section(
        "integrations",
        "Integrations",
        (
            _m("Connections", "integrations.integrationconnection"),
            _m("Accounting connections", "accounting.accountingconnection"),
            _m("Account mappings", "integrations.accountmapping"),
            _m("Sync mappings", "integrations.syncmapping"),
            _m("Schedules", "django_celery_beat.periodictask"),
            _m("Sync logs", "integrations.synclog"),
            _m("Sync errors", "integrations.syncrecorderror"),
            _m("Accounting writes", "accounting.accountingwrite"),
            _m("Overwrite audit", "accounting.overwriteaudit"),
            _m("Webhook inbox", "integrations.inboundevent"),
            _m("External references", "integrations.externalref"),
        ),
    ),
    Section(
        "reports",
        "Reports",
        (
            Entry("Integration health", url_name="monitoring:dashboard", office_only=True),
            Entry("Weekly report", url_name="monitoring:report", office_only=True),
            _m("Alerts", "monitoring.alert"),
            _m("Weekly report deliveries", "monitoring.weeklyreportdelivery"),
        ),
    ),
    Section(
        "settings",
        "Settings",
        (
            _m("Business", "core.business"),
            _m("Users", "core.user"),
            _m("Service categories", "core.servicecategory"),
            _m("Skills", "core.skill"),
            _m("Parts catalogue", "core.part"),
            _m("Instruments", "diagnostics.instrument"),
            _m("Messaging settings", "comms.commssettings"),
            _m("Sender numbers", "comms.sendernumber"),
            _m("Monitoring settings", "monitoring.monitoringsettings"),
        ),
    ),
    Section(
        "system",
        "System",
        (
            _internal("Groups", "auth.group"),
            _internal("API tokens", "authtoken.tokenproxy"),
            _internal("Email addresses", "account.emailaddress"),
            _internal("Authenticators (MFA)", "mfa.authenticator"),
            _internal("Crontab schedules", "django_celery_beat.crontabschedule"),
            _internal("Interval schedules", "django_celery_beat.intervalschedule"),
            _internal("Clocked schedules", "django_celery_beat.clockedschedule"),
            _internal("Solar schedules", "django_celery_beat.solarschedule"),
            _internal("Integration activity (raw)", "integrations.integrationactivity"),
            _internal("Heartbeats", "monitoring.heartbeat"),
        ),
    ),
)
# Framework internals: only platform superusers see them in the navigation.
INTERNAL_MODELS = frozenset(e.model for s in SECTIONS for e in s.entries if e.superuser_only)


def named_models() -> set[str]:
    return {e.model for s in SECTIONS for e in s.entries if e.model}


def _url(name: str) -> str:
    try:
        return reverse(name)
    except NoReverseMatch:
        return ""


def task_sections(*, request, models: dict[str, dict]) -> list[dict]:
    """The navigation for this user, shaped like Django's app list (so its templates still work).

    `models` maps "app_label.modelname" to the model dicts Django's admin built for the user (only
    models the user may see are in it).
    """
    user = request.user
    superuser = user.is_superuser
    path = request.path
    listed: set[str] = set()
    sections = []
    for section in SECTIONS:
        items = []
        for entry in section.entries:
            listed.add(entry.model)
            if entry.superuser_only and not superuser:
                continue
            if entry.model:
                found = models.get(entry.model)
                if found is None:
                    continue
                url = found["admin_url"] + (f"?{entry.query}" if entry.query else "")
                item = {**found, "name": entry.label, "admin_url": url}
                item["current"] = not entry.query and path.startswith(found["admin_url"])
            else:
                if entry.perm and not user.has_perm(entry.perm):
                    continue
                if entry.office_only and getattr(user, "business", None) is None:
                    continue
                url = _url(entry.url_name)
                if not url:
                    continue
                item = {
                    "name": entry.label,
                    "object_name": entry.url_name.split(":")[-1],
                    "admin_url": url,
                    "add_url": None,
                    "view_only": True,
                    "current": path.startswith(url),
                }
            items.append(item)
        if items:
            sections.append(_section(section.key, section.title, items))
    rest = [m for label, m in sorted(models.items()) if label not in listed]
    if rest:
        for item in rest:
            item["current"] = path.startswith(item["admin_url"])
        sections.append(_section("other", "Other", rest))
    return sections


def _section(key: str, title: str, items: list[dict]) -> dict:
    return {
        "name": title,
        "app_label": key,
        "app_url": "",
        "has_module_perms": True,
        "models": items,
        "current": any(i["current"] for i in items),
    }
