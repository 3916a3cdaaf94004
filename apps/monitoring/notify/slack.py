"""Slack incoming webhooks (https://api.slack.com/messaging/webhooks), through the framework's
ApiClient: timeouts, error mapping and activity counting like every other vendor call.

The webhook URL is a secret (whoever has it can post to the channel), so it lives in the
connection's encrypted credentials as `webhook_url`. An `api_base_url` on the connection replaces
the scheme and host (a proxy, or a loopback server in tests) and keeps the secret path.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from apps.core.errors import DomainError
from apps.integrations.http import ApiClient
from apps.integrations.providers import ConnectionCheck, Provider, RateLimitPolicy, registry
from apps.integrations.schema import CredentialField

SLACK_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")


def validate_webhook_url(url: str) -> str:
    parts = urlsplit(url or "")
    if (
        parts.scheme != "https"
        or parts.hostname not in SLACK_HOSTS
        or not parts.path.startswith("/services/")
    ):
        raise DomainError(
            "A Slack incoming webhook URL looks like https://hooks.slack.com/services/T…/B…/….",
            field="webhook_url",
        )
    return url


class SlackWebhookClient(ApiClient):
    default_base_url = "https://hooks.slack.com"
    # Slack allows about one message per second per webhook, with short bursts.
    rate_limits = RateLimitPolicy(windows=((10, 10.0),))  # ~1/s, short bursts allowed

    def error_message(self, response) -> str:
        # Slack answers errors in plain text: invalid_payload, no_service, channel_is_archived...
        return f"Slack answered {response.status_code}: {response.text[:200]}".strip()

    def post_message(self, payload: dict) -> None:
        url = validate_webhook_url((self.connection.credentials or {}).get("webhook_url", ""))
        target = urlsplit(url).path if self.connection.api_base_url else url
        self.post(target, json=payload, operation="POST incoming webhook")


class SlackProvider(Provider):
    key = "slack"
    display_name = "Slack"
    default_base_url = "https://hooks.slack.com"
    credential_fields = (
        CredentialField(
            "webhook_url",
            "Incoming webhook URL",
            required=True,
            help="https://hooks.slack.com/services/… of the alerts channel (it is a secret).",
        ),
    )

    def test_connection(self) -> ConnectionCheck:
        SlackWebhookClient(self.connection).post_message(
            {"text": f"Thorbis alerts for {self.connection.business} will be posted here."}
        )
        return ConnectionCheck(ok=True, message="Posted a test message to the Slack channel.")


def register() -> None:
    registry("monitoring").register(SlackProvider)
