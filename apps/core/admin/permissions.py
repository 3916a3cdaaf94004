"""Model permissions for office roles, kept in code so every deployment agrees.

Each office role has one group ("Office: dispatcher", ...) whose permissions are reset to the
lists below whenever grant_office_permissions runs, so changing a list here and re-running the
seed (or the helper) updates everyone holding the role. Rows stay tenant-scoped by the admin
itself; these permissions only say which screens and actions a role may use.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from apps.core.models import Role, User

_DISPATCHER: dict[str, str] = {
    "core.business": "view",
    "core.user": "view",
    "core.customer": "view add change",
    "core.servicelocation": "view add change",
    "core.equipment": "view add change",
    "core.servicecategory": "view",
    "core.skill": "view",
    "core.part": "view",
    "core.technician": "view",
    "core.vanstock": "view",
    "core.workorder": "view add change",
    "core.workorderpart": "view add change delete",
    "core.workorderstatuschange": "view",
    "core.lineitem": "view add change delete",
    "core.invoice": "view add change",
    "core.payment": "view add",
    "core.refund": "view add",  # add = "Record refund" on a payment
    "integrations.integrationconnection": "view",
    "integrations.accountmapping": "view",
    "integrations.syncmapping": "view",
    "integrations.synclog": "view",
    "integrations.syncrecorderror": "view change",
    "integrations.externalref": "view",
    "integrations.inboundevent": "view",
    "integrations.integrationactivity": "view",
    "monitoring.alert": "view",
    "monitoring.alertnotification": "view",
    "monitoring.weeklyreportdelivery": "view",
    "routing.routeplan": "view change",  # optimize a day, apply or discard the draft
    "routing.technicianlocation": "view",
    "comms.communicationlog": "view change",  # change = reply and click-to-call
    "comms.messagetemplate": "view",
    "comms.scheduledmessage": "view change",  # change = cancel a pending text
    "comms.consentrecord": "view",
    "comms.consentevent": "view",
    "comms.sendernumber": "view",
    "comms.commssettings": "view",
    "comms.emailsuppression": "view",
    "diagnostics.reading": "view add",  # typed-in readings; captured ones arrive over the API
    "diagnostics.instrument": "view add change",
    "diagnostics.equipmentprofile": "view add change",
    "diagnostics.finding": "view",
    "diagnostics.findingoverride": "view",
    "diagnostics.diagnosticreport": "view",
}
_MANAGER: dict[str, str] = {
    **_DISPATCHER,
    "core.servicecategory": "view add change",
    "core.skill": "view add change",
    "core.part": "view add change",
    "core.technician": "view add change",
    "core.vanstock": "view add change delete",
    "integrations.integrationconnection": "view add change",
    "integrations.accountmapping": "view add change delete",
    "integrations.syncmapping": "view add change delete",
    "integrations.inboundevent": "view change",  # change = may replay a stored webhook
    "monitoring.monitoringsettings": "view add change",  # thresholds and alert channels
    "comms.messagetemplate": "view add change delete",
    "comms.sendernumber": "view add change",
    "comms.commssettings": "view add change",
    "comms.emailsuppression": "view delete",
    "payments.maintenanceplan": "view add change",
}
_ADMIN: dict[str, str] = {
    **_MANAGER,
    "core.business": "view change",
    "core.user": "view add change",
}
OFFICE_PERMISSIONS: dict[str, dict[str, str]] = {
    Role.DISPATCHER: _DISPATCHER,
    Role.MANAGER: _MANAGER,
    Role.ADMIN: _ADMIN,
}
GROUP_NAMES = {role: f"Office: {Role(role).label.lower()}" for role in OFFICE_PERMISSIONS}


def _permissions_for(role: str) -> list[Permission]:
    wanted = {
        (key.split(".")[0], f"{action}_{key.split('.')[1]}")
        for key, actions in OFFICE_PERMISSIONS[role].items()
        for action in actions.split()
    }
    found = [
        perm
        for perm in Permission.objects.select_related("content_type").filter(
            content_type__app_label__in={app for app, _ in wanted}
        )
        if (perm.content_type.app_label, perm.codename) in wanted
    ]
    missing = wanted - {(p.content_type.app_label, p.codename) for p in found}
    if missing:
        # Permissions are created by migrate's post_migrate signal; none means it has not run.
        raise LookupError(f"Permissions missing (run migrate first): {sorted(missing)}")
    return found


def office_group(role: str) -> Group:
    """The role's group, created if needed, with exactly the role's permissions."""
    group, _ = Group.objects.get_or_create(name=GROUP_NAMES[role])
    group.permissions.set(_permissions_for(role))
    return group


@transaction.atomic
def grant_office_permissions(user: User) -> set[str]:
    """Put an office user in their role's group (and make them staff); technicians get nothing.

    Idempotent. Returns the permissions the user now holds through the office groups, as
    "app_label.codename" strings.
    """
    office_groups = Group.objects.filter(name__in=GROUP_NAMES.values())
    user.groups.remove(*office_groups)
    if user.role not in OFFICE_PERMISSIONS:
        return set()
    user.groups.add(office_group(user.role))
    if not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    # Django caches permissions on the instance; drop the cache so the new ones apply at once.
    for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
        user.__dict__.pop(cache, None)
    return {
        f"{app}.{action}_{model}"
        for key, actions in OFFICE_PERMISSIONS[user.role].items()
        for app, model in [key.split(".")]
        for action in actions.split()
    }
