"""What an alert says, on Slack (Block Kit) and by email."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from apps.monitoring.models import Alert, AlertNotification

EMOJI = {
    AlertNotification.Event.OPENED: ":rotating_light:",
    AlertNotification.Event.REMINDER: ":hourglass:",
    AlertNotification.Event.RESOLVED: ":white_check_mark:",
}
PREFIX = {
    AlertNotification.Event.OPENED: "",
    AlertNotification.Event.REMINDER: "Still open: ",
    AlertNotification.Event.RESOLVED: "Resolved: ",
}


def dashboard_url() -> str:
    return f"{settings.PUBLIC_BASE_URL}{reverse('monitoring:dashboard')}"


def _when(alert: Alert) -> str:
    local = timezone.localtime(alert.opened_at, alert.business.timezone)
    return local.strftime("%a %b %-d, %-I:%M %p %Z")


def headline(alert: Alert, event: str) -> str:
    return f"{PREFIX[event]}{alert.title}"


def body_lines(alert: Alert, event: str) -> list[str]:
    lines = [alert.message] if alert.message and event != AlertNotification.Event.RESOLVED else []
    lines.append(f"Business: {alert.business.name}")
    lines.append(f"Opened: {_when(alert)}")
    if event == AlertNotification.Event.REMINDER:
        lines.append(f"Reminder {alert.reminders_sent}; it has not recovered yet.")
    if event == AlertNotification.Event.RESOLVED and alert.resolved_at:
        minutes = int((alert.resolved_at - alert.opened_at).total_seconds() // 60)
        lines.append(f"Recovered after {minutes // 60} h {minutes % 60} min.")
    return lines


def slack_payload(alert: Alert, event: str) -> dict:
    title = headline(alert, event)
    lines = body_lines(alert, event)
    return {
        "text": f"{EMOJI[event]} {title}",  # the notification and fallback text
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": title[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:2900]}},
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"{alert.get_severity_display()} · {alert.get_kind_display()} · "
                        f"<{dashboard_url()}|Integration health>",
                    }
                ],
            },
        ],
    }


def email_subject(alert: Alert, event: str) -> str:
    return f"[{alert.business.name}] {headline(alert, event)}"


def email_body(alert: Alert, event: str) -> str:
    return "\n".join([*body_lines(alert, event), "", f"Integration health: {dashboard_url()}"])
