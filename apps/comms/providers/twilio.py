"""Twilio SMS and Voice. The only module that imports the twilio SDK.

The SDK builds every URL as https://<domain>.twilio.com/...; `edge`/`region` only rewrite parts of
that host, so the connection's api_base_url (sandboxes, gateways, the loopback test server) is
applied by a TwilioHttpClient subclass that swaps scheme and host on every request.
"""

from __future__ import annotations

import logging
import threading
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from apps.comms.providers.base import (
    FILTERED,
    OPTED_OUT,
    UNDELIVERABLE,
    PlacedCall,
    RecipientRefused,
    SentMessage,
)
from apps.integrations.activity import tracked
from apps.integrations.errors import (
    AuthenticationError,
    ProviderError,
    RateLimited,
    RejectedError,
    TemporaryError,
)
from apps.integrations.models import ActivityKind
from apps.integrations.providers import ConnectionCheck, Provider, RateLimitPolicy
from apps.integrations.schema import CredentialField

# The SDK logs every request and its headers at INFO; at fan-out volume that is noise and cost.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)
_clients: dict[tuple, Client] = {}
MESSAGE_OPERATION = "POST message"
_clients_lock = threading.Lock()


class BaseUrlHttpClient(TwilioHttpClient):
    def __init__(self, base_url: str, **kwargs):
        super().__init__(**kwargs)
        self._base = urlsplit(base_url)

    def request(self, method, url, *args, **kwargs):
        u = urlsplit(url)
        url = urlunsplit((self._base.scheme, self._base.netloc, u.path, u.query, u.fragment))
        return super().request(method, url, *args, **kwargs)


def map_error(exc: BaseException) -> ProviderError | None:
    if isinstance(exc, TwilioRestException):
        code = str(exc.code or "")
        message = f"Twilio {exc.status} error {code}: {exc.msg}".strip()
        if exc.status in (401, 403) or code in {"20003", "20005"}:
            return AuthenticationError(message, status_code=exc.status, vendor_code=code)
        if exc.status == 429 or code == "20429":
            return RateLimited(message, status_code=exc.status, vendor_code=code, retry_after=1.0)
        if code in OPTED_OUT | UNDELIVERABLE | FILTERED:
            return RecipientRefused(message, status_code=exc.status, vendor_code=code)
        if exc.status >= 500:
            return TemporaryError(message, status_code=exc.status, vendor_code=code)
        return RejectedError(message, status_code=exc.status, vendor_code=code)
    if isinstance(exc, TwilioException | OSError):
        return TemporaryError(f"Twilio unreachable: {type(exc).__name__}")
    return None


def _decimal(value) -> Decimal | None:
    try:
        return abs(Decimal(str(value))) if value not in (None, "") else None
    except InvalidOperation:
        return None


class TwilioProvider(Provider):
    key = "twilio"
    display_name = "Twilio"
    default_base_url = "https://api.twilio.com"
    credential_fields = (
        CredentialField(
            "account_sid",
            "Account SID",
            secret=False,
            required=True,
            help="AC… from the Twilio console (a subaccount's SID for a subaccount).",
        ),
        CredentialField(
            "auth_token",
            "Auth token",
            required=True,
            help="Signs the API requests and verifies Twilio's webhook signatures.",
        ),
    )
    base_url_help = "Empty: https://api.twilio.com (every Twilio host is rewritten to this one)."
    # Account-wide REST concurrency; per-number throughput is enforced by the sender pool.
    rate_limits = RateLimitPolicy(windows=((100, 1.0),))

    def client(self) -> Client:
        """One client per connection and process, so its HTTP session keeps connections alive."""
        self.check_credentials()
        key = (self.connection.pk, self.connection.updated_at, self.connection.api_base_url)
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                creds = self.connection.credentials
                timeout = getattr(settings, "INTEGRATIONS_HTTP_READ_TIMEOUT", 30.0)
                http = (
                    BaseUrlHttpClient(self.connection.api_base_url, timeout=timeout)
                    if self.connection.api_base_url
                    else TwilioHttpClient(timeout=timeout)
                )
                client = Client(creds["account_sid"], creds["auth_token"], http_client=http)
                if len(_clients) > 256:
                    _clients.clear()
                _clients[key] = client
        return client

    def test_connection(self) -> ConnectionCheck:
        sid = self.connection.credentials.get("account_sid", "")
        with tracked(self.connection, "GET account", error_mapper=map_error):
            account = self.client().api.v2010.accounts(sid).fetch()
        return ConnectionCheck(ok=True, message="Connected", account_name=account.friendly_name)

    def message_send(
        self,
        *,
        to: str,
        from_: str,
        body: str,
        status_callback: str = "",
        validity_period_s: int | None = None,
    ) -> SentMessage:
        with tracked(
            self.connection, MESSAGE_OPERATION, kind=ActivityKind.MESSAGE, error_mapper=map_error
        ):
            return self.message_send_untracked(
                to=to,
                from_=from_,
                body=body,
                status_callback=status_callback,
                validity_period_s=validity_period_s,
            )

    def message_send_untracked(
        self,
        *,
        to: str,
        from_: str,
        body: str,
        status_callback: str = "",
        validity_period_s: int | None = None,
    ) -> SentMessage:
        """The HTTP call alone, no database: for sender threads of a batch, which record the
        activity rows in bulk afterwards. SDK errors are raised unmapped (see map_error)."""
        params: dict = {"to": to, "from_": from_, "body": body}
        if status_callback:
            params["status_callback"] = status_callback
        if validity_period_s:
            # A stale "on my way" is worse than none: Twilio drops it if still queued by then.
            params["validity_period"] = validity_period_s
        msg = self.client().messages.create(**params)
        segments = int(msg.num_segments) if str(msg.num_segments or "").isdigit() else None
        return SentMessage(
            provider_id=msg.sid,
            status=msg.status or "queued",
            segments=segments,
            price=_decimal(msg.price),
        )

    def message_error(self, exc: Exception) -> Exception:
        """What message_send would have raised for an exception of message_send_untracked."""
        return map_error(exc) or exc

    def call_create(
        self,
        *,
        to: str,
        from_: str,
        twiml: str,
        status_callback: str = "",
        status_events: tuple[str, ...] = ("initiated", "ringing", "answered", "completed"),
    ) -> PlacedCall:
        params: dict = {"to": to, "from_": from_, "twiml": twiml}
        if status_callback:
            params["status_callback"] = status_callback
        if status_callback and status_events:
            # Without these Twilio only reports "completed".
            params["status_callback_event"] = list(status_events)
        with tracked(
            self.connection, "POST call", kind=ActivityKind.MESSAGE, error_mapper=map_error
        ):
            call = self.client().calls.create(**params)
        return PlacedCall(provider_id=call.sid, status=call.status or "queued")

    def signature_valid(self, *, url: str, params: dict, signature: str) -> bool:
        token = (self.connection.credentials or {}).get("auth_token", "")
        return bool(token) and RequestValidator(token).validate(url, params, signature)


# TwiML builders, here so the rest of comms never imports twilio.
def twiml_message(text: str = "") -> str:
    resp = MessagingResponse()
    if text:
        resp.message(text)
    return str(resp)


def twiml_connect_call(
    *, greeting: str, dial_to: str, record: bool, recording_callback: str = ""
) -> str:
    resp = VoiceResponse()
    resp.say(greeting)
    if dial_to:
        kwargs = {}
        if record:
            kwargs = {
                "record": "record-from-answer-dual",
                "recording_status_callback": recording_callback,
            }
        resp.dial(dial_to, **kwargs)
    return str(resp)


def twiml_inbound_menu(*, greeting: str, on_key: str, on_no_key: str) -> str:
    """Say the menu and wait for one key. Twilio posts a pressed key (`Digits`) to `on_key`; with
    no key (timeout, or '#' alone) Gather ends without calling it and the Redirect runs, so
    `on_no_key` must itself say "nothing was pressed": a redirect carries no Digits."""
    resp = VoiceResponse()
    gather = resp.gather(num_digits=1, action=on_key, method="POST", timeout=5)
    gather.say(greeting)
    resp.redirect(on_no_key, method="POST")
    return str(resp)
