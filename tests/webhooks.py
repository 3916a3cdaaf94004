"""One contract every webhook endpoint passes (issue 14; STYLE.md: bad signature, duplicate,
out of order, wrong tenant for every webhook).

Subclass WebhookContract as `Test<Vendor><Endpoint>` next to the app's other webhook tests and
fill in the hooks; an autouse fixture of the subclass arranges tenant A (whose object the events
change) and tenant B (another business with its own connection and key). Each subclass runs:

- a bad signature and a missing one: 4xx, nothing stored, A unchanged;
- a stale timestamp, for vendors that sign one (Stripe): 4xx, nothing stored, A unchanged;
- the same delivery twice: applied once;
- deliveries in the wrong order: A ends in the state the newest one describes;
- B signing an event that names A's object: A unchanged, the refusal recorded;
- malformed bodies (empty, not JSON, a JSON array, `null`, not UTF-8, over Django's upload
  limit, a JSON body under another content type), signed and unsigned: 4xx, or 2xx when the
  vendor's format makes it an authentic but empty delivery; never a 500; A unchanged.

Requests go through Django's test client with on-commit callbacks run (Celery is eager in tests),
so "applied" means stored, processed by the worker and visible in the database.
"""

from __future__ import annotations

import contextlib
import json
import time
from typing import Any, ClassVar

import pytest
from django.conf import settings
from django.http import HttpResponse
from django.test import Client

from apps.integrations.models import InboundEvent

MALFORMED = {
    "empty": (b"", "application/json"),
    "not_json": (b"this is not json {", "application/json"),
    "json_array": (b"[1, 2, 3]", "application/json"),
    "json_null": (b"null", "application/json"),
    "not_utf8": (b'{"id": "evt_\xff\xfe", "type": "x"}', "application/json"),
    "wrong_content_type": (b'{"id": "evt_ct", "type": "x"}', "text/plain"),
    "huge": (None, "application/json"),  # built at run time: just over the upload limit
}


def huge_body() -> bytes:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 2_621_440
    return b'{"pad": "' + b"x" * limit + b'"}'


class WebhookContract:
    """Base of every provider's webhook test class (not collected itself: no Test prefix)."""

    path: ClassVar[str] = ""
    signs_timestamp: ClassVar[bool] = False
    # Some vendors' processing is run by hand (see process()); others by on-commit callbacks.
    run_on_commit: ClassVar[bool] = True

    key: str  # tenant A's signing key
    other_key: str  # tenant B's

    @pytest.fixture(autouse=True)
    def _contract(self, client: Client, django_capture_on_commit_callbacks):
        self.client = client
        self._capture = django_capture_on_commit_callbacks

    # --- hooks --------------------------------------------------------------------------------
    def encode(self, payload: Any) -> tuple[bytes, str]:
        """A payload as the vendor sends it: (body, content type)."""
        return json.dumps(payload).encode(), "application/json"

    def sign(
        self, body: bytes, *, key: str, path: str, content_type: str, timestamp: int | None
    ) -> dict[str, str]:
        """The vendor's authentication headers for this body."""
        raise NotImplementedError

    def event(self, name: str) -> Any:
        """A payload about tenant A's object: "first", "older", "newer" (as the vendor sends)."""
        raise NotImplementedError

    def state(self) -> Any:
        """Tenant A's observable state (what a wrong or refused delivery must not change)."""
        raise NotImplementedError

    def applied(self) -> int:
        """How many times the "first" event's effect happened."""
        raise NotImplementedError

    def out_of_order(self) -> None:
        """Deliver the newer payload, then the older one (override for other sequences)."""
        for name in ("newer", "older"):
            assert self.deliver(self.event(name)).status_code < 300

    def after_out_of_order(self) -> Any:
        raise NotImplementedError

    def wrong_tenant(self) -> HttpResponse:
        """Tenant B, with its own key and endpoint, sends an event naming A's object."""
        raise NotImplementedError

    def refusal_recorded(self) -> bool:
        raise NotImplementedError

    def stored(self) -> int:
        return InboundEvent.objects.count()

    def process(self) -> None:
        """Run what a worker would after a delivery (when run_on_commit is False)."""

    # --- delivery -----------------------------------------------------------------------------
    def post(
        self,
        body: bytes,
        content_type: str,
        *,
        key: str | None = None,
        signed: bool = True,
        path: str | None = None,
        timestamp: int | None = None,
    ) -> HttpResponse:
        path = path or self.path
        headers = (
            self.sign(
                body,
                key=key or self.key,
                path=path,
                content_type=content_type,
                timestamp=timestamp,
            )
            if signed
            else {}
        )
        run = self._capture(execute=True) if self.run_on_commit else contextlib.nullcontext()
        with run:
            response = self.client.post(path, body, content_type=content_type, headers=headers)
        assert response.status_code < 500, response.content[:200]
        self.process()
        return response

    def deliver(self, payload: Any, **kwargs) -> HttpResponse:
        body, content_type = self.encode(payload)
        return self.post(body, content_type, **kwargs)

    # --- the contract ---------------------------------------------------------------------
    def test_bad_signature_is_refused_and_stores_nothing(self):
        before, stored = self.state(), self.stored()
        body, content_type = self.encode(self.event("first"))
        response = self.post(body, content_type, key=self.other_key)
        assert 400 <= response.status_code < 500
        assert self.stored() == stored and self.state() == before

    def test_missing_signature_is_refused_and_stores_nothing(self):
        before, stored = self.state(), self.stored()
        body, content_type = self.encode(self.event("first"))
        response = self.post(body, content_type, signed=False)
        assert 400 <= response.status_code < 500
        assert self.stored() == stored and self.state() == before

    def test_stale_timestamp_is_refused(self):
        if not self.signs_timestamp:
            pytest.skip("this vendor signs no timestamp (replays are absorbed as duplicates)")
        before, stored = self.state(), self.stored()
        body, content_type = self.encode(self.event("first"))
        response = self.post(body, content_type, timestamp=int(time.time()) - 3600)
        assert 400 <= response.status_code < 500
        assert self.stored() == stored and self.state() == before

    def test_duplicate_delivery_is_applied_once(self):
        payload = self.event("first")
        first, again = self.deliver(payload), self.deliver(payload)
        assert first.status_code < 300 and again.status_code < 300
        assert self.applied() == 1

    def test_out_of_order_delivery_ends_in_the_newest_state(self):
        self.out_of_order()
        assert self.state() == self.after_out_of_order()

    def test_another_tenant_cannot_change_this_tenants_object(self):
        before = self.state()
        response = self.wrong_tenant()
        assert response.status_code < 500
        assert self.state() == before
        assert self.refusal_recorded()

    @pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
    @pytest.mark.parametrize("shape", list(MALFORMED))
    def test_malformed_body_is_a_client_error_never_a_500(self, shape, signed):
        before = self.state()
        body, content_type = MALFORMED[shape]
        response = self.post(huge_body() if body is None else body, content_type, signed=signed)
        assert response.status_code < 300 or 400 <= response.status_code < 500
        assert self.state() == before
