"""QuickBooks and Xero webhooks: signatures, the inbox, duplicates, out-of-order deliveries."""

import base64
import hashlib
import hmac
import json

import pytest
from django.test import Client

from apps.accounting.qbo_fake import DEFAULT_REALM
from apps.accounting.services.customers import customer_link_or_create
from apps.accounting.services.sync import resource_sync
from apps.integrations.inbox import inbound_event_process
from apps.integrations.models import InboundEvent, SyncLog

pytestmark = pytest.mark.django_db
VERIFIER = "intuit-verifier-token-1234"
XERO_KEY = "xero-webhook-key-5678"


@pytest.fixture(autouse=True)
def _keys(settings):
    settings.QUICKBOOKS_WEBHOOK_VERIFIER_TOKEN = VERIFIER
    settings.XERO_WEBHOOK_KEY = XERO_KEY


def _sign(body: bytes, key: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def _cloud_event(
    event_id, entity="customer", operation="updated", entity_id="1", when="2026-11-20T10:00:00Z"
):
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "intuit.quickbooks",
        "type": f"qbo.{entity}.{operation}.v1",
        "datacontenttype": "application/json",
        "time": when,
        "intuitentityid": entity_id,
        "intuitaccountid": DEFAULT_REALM,
        "data": {},
    }


def _post_qbo(payload, key=VERIFIER):
    body = json.dumps(payload).encode()
    return Client().post(
        "/webhooks/quickbooks",
        body,
        content_type="application/json",
        HTTP_INTUIT_SIGNATURE=_sign(body, key),
    )


def test_a_signed_cloudevents_delivery_is_stored_and_answered_at_once(qbo_connection, qbo):
    answer = _post_qbo([_cloud_event("ev-1"), _cloud_event("ev-2", entity="invoice")])

    assert answer.status_code == 200
    stored = InboundEvent.objects.order_by("provider_event_id")
    assert [(e.provider_event_id, e.event_type, e.connection_id) for e in stored] == [
        ("ev-1", "customer.updated", qbo_connection.pk),
        ("ev-2", "invoice.updated", qbo_connection.pk),
    ]
    assert all(e.status == InboundEvent.Status.PENDING for e in stored)
    assert qbo.requests == []  # nothing fetched while the vendor waits for its 200


def test_a_bad_signature_is_refused_and_nothing_is_stored(qbo_connection):
    assert _post_qbo([_cloud_event("ev-x")], key="wrong").status_code == 401
    assert not InboundEvent.objects.exists()


def test_a_redelivered_event_is_stored_once(qbo_connection):
    _post_qbo([_cloud_event("ev-dup")])
    assert _post_qbo([_cloud_event("ev-dup")]).status_code == 200

    assert InboundEvent.objects.filter(provider_event_id="ev-dup").count() == 1


def test_the_legacy_payload_is_accepted_and_deduplicated(qbo_connection):
    payload = {
        "eventNotifications": [
            {
                "realmId": DEFAULT_REALM,
                "dataChangeEvent": {
                    "entities": [
                        {
                            "name": "Payment",
                            "id": "55",
                            "operation": "Create",
                            "lastUpdated": "2026-11-20T10:00:00.000Z",
                        }
                    ]
                },
            }
        ]
    }

    _post_qbo(payload)
    _post_qbo(payload)

    (event,) = InboundEvent.objects.all()
    assert event.event_type == "payment.create" and event.provider_event_id.startswith("legacy:")


def test_a_signed_body_that_is_not_a_webhook_is_a_bad_request(qbo_connection):
    body = b'{"hello": "world"}'
    answer = Client().post(
        "/webhooks/quickbooks",
        body,
        content_type="application/json",
        HTTP_INTUIT_SIGNATURE=_sign(body, VERIFIER),
    )
    assert answer.status_code == 400


def test_processing_requests_one_sync_per_resource(
    qbo_connection, django_capture_on_commit_callbacks
):
    _post_qbo(
        [_cloud_event("a"), _cloud_event("b", entity_id="2"), _cloud_event("c", entity="item")]
    )

    for event in InboundEvent.objects.order_by("pk"):
        inbound_event_process(event_id=event.pk)  # no commit in this test: the syncs stay queued

    logs = SyncLog.objects.filter(connection=qbo_connection)
    assert [(log.sync_type, log.trigger) for log in logs] == [("customers", "webhook")]  # coalesced
    assert set(InboundEvent.objects.values_list("status", flat=True)) == {"processed"}


def test_out_of_order_events_end_with_the_latest_state(
    qbo_connection, provider, books, run, customer
):
    ref = customer_link_or_create(run, customer)
    resource_sync(provider=provider, resource="customers", sync_log=None)
    row = books.rows["Customer"][ref.remote_id]
    row["PrimaryEmailAddr"] = {"Address": "first@example.com"}
    books.touch("Customer", row)
    row["PrimaryEmailAddr"] = {"Address": "second@example.com"}
    books.touch("Customer", row)
    # The newer change is delivered first, the older one after it.
    _post_qbo([_cloud_event("newer", entity_id=ref.remote_id, when="2026-11-20T10:05:00Z")])
    _post_qbo([_cloud_event("older", entity_id=ref.remote_id, when="2026-11-20T10:01:00Z")])

    for event_id in ("newer", "older"):
        inbound_event_process(event_id=InboundEvent.objects.get(provider_event_id=event_id).pk)
        for log in SyncLog.objects.filter(status=SyncLog.Status.QUEUED):
            from apps.integrations.services import connection_sync

            connection_sync(sync_log_id=log.pk)

    customer.refresh_from_db()
    assert customer.email == "second@example.com"


def _post_xero(payload, key=XERO_KEY):
    body = json.dumps(payload).encode()
    return Client().post(
        "/webhooks/xero",
        body,
        content_type="application/json",
        HTTP_X_XERO_SIGNATURE=_sign(body, key),
    )


def test_xero_intent_to_receive_answers_200_empty_or_401(db):
    handshake = {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "S0M3"}

    good = _post_xero(handshake)
    bad = _post_xero(handshake, key="not-the-key")

    assert (good.status_code, good.content) == (200, b"")
    assert (bad.status_code, bad.content) == (401, b"")


def test_xero_events_are_stored_once_each(db):
    event = {
        "resourceUrl": "https://api.xero.com/api.xro/2.0/Contacts/717f2bfc",
        "resourceId": "717f2bfc",
        "eventDateUtc": "2026-11-20T10:00:00.000",
        "eventType": "UPDATE",
        "eventCategory": "CONTACT",
        "tenantId": "c2cc9b6e",
        "tenantType": "ORGANISATION",
    }
    payload = {"events": [event], "firstEventSequence": 1, "lastEventSequence": 1, "entropy": "X"}

    _post_xero(payload)
    _post_xero(payload)

    (stored,) = InboundEvent.objects.filter(provider="xero")
    assert stored.event_type == "contact.update"
