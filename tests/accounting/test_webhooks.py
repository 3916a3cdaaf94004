"""QuickBooks and Xero webhooks: signature scope, typed payloads, the inbox; the shared contract
(tests/webhooks.py) covers bad signatures, duplicates, out-of-order delivery and wrong tenants."""

import base64
import hashlib
import hmac
import json
from itertools import count

import pytest
from django.test import Client

from apps.accounting.qbo_fake import DEFAULT_REALM
from apps.accounting.services.customers import customer_link_or_create
from apps.accounting.services.sync import resource_sync
from apps.integrations.inbox import inbound_event_process
from apps.integrations.models import (
    ConnectionStatus,
    InboundEvent,
    IntegrationActivity,
    Outcome,
    ProviderKey,
    SyncLog,
)
from tests import factories as f
from tests.webhooks import WebhookContract

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


# --- signature scope: each event needs its own company's key (issue 12, item 2) -----------------
RIVAL_VERIFIER = "rival-intuit-verifier-token-9999"
RIVAL_REALM = "9130350000000002"
RIVAL_XERO_KEY = "rival-xero-webhook-key-0002"
XERO_TENANT = "c2cc9b6e-tenant-a"
RIVAL_TENANT = "d3dd0c7f-tenant-b"


def _rival_qbo(other_business, **credentials):
    return f.IntegrationConnectionFactory(
        business=other_business,
        provider=ProviderKey.QUICKBOOKS,
        name="Rival books",
        external_account_id=RIVAL_REALM,
        credentials={"webhook_verifier_token": RIVAL_VERIFIER, **credentials},
        status=ConnectionStatus.CONNECTED,
        sync_enabled=False,  # never reaches Intuit from these tests
    )


def _legacy(*realms):
    return {
        "eventNotifications": [
            {
                "realmId": realm,
                "dataChangeEvent": {
                    "entities": [
                        {
                            "name": "Customer",
                            "id": "7",
                            "operation": "Update",
                            "lastUpdated": "2026-11-20T10:00:00.000Z",
                        }
                    ]
                },
            }
            for realm in realms
        ]
    }


@pytest.mark.parametrize("payload_format", ["cloudevents", "legacy"])
def test_an_event_for_a_company_whose_key_did_not_sign_is_refused_the_rest_stored(
    qbo_connection, other_business, payload_format
):
    rival = _rival_qbo(other_business)
    if payload_format == "cloudevents":
        payload = [
            {**_cloud_event("ev-rival"), "intuitaccountid": RIVAL_REALM},
            _cloud_event("ev-ours"),  # our realm, but signed with the rival's token
        ]
    else:
        payload = _legacy(RIVAL_REALM, DEFAULT_REALM)

    answer = _post_qbo(payload, key=RIVAL_VERIFIER)

    assert answer.status_code == 200
    (stored,) = InboundEvent.objects.all()
    assert stored.connection == rival
    assert not InboundEvent.objects.filter(connection=qbo_connection).exists()
    refusal = IntegrationActivity.objects.get(connection=qbo_connection)
    assert refusal.outcome == Outcome.REJECTED and DEFAULT_REALM in refusal.error_message


def test_only_refused_events_answer_401(qbo_connection, other_business):
    _rival_qbo(other_business)
    assert _post_qbo([_cloud_event("ev-ours")], key=RIVAL_VERIFIER).status_code == 401
    assert not InboundEvent.objects.exists()


def test_a_connection_with_its_own_token_refuses_the_app_token(qbo_connection):
    qbo_connection.credentials = {**qbo_connection.credentials, "webhook_verifier_token": "own"}
    qbo_connection.save()

    assert _post_qbo([_cloud_event("ev-app")], key=VERIFIER).status_code == 401
    assert _post_qbo([_cloud_event("ev-own")], key="own").status_code == 200
    assert list(InboundEvent.objects.values_list("provider_event_id", flat=True)) == ["ev-own"]


def test_a_stored_event_syncs_only_the_connection_it_was_authenticated_for(
    qbo_connection, other_business
):
    # B claims A's realm in its own connection; A's app-signed event must not sync B.
    claimant = _rival_qbo(other_business)
    claimant.external_account_id = DEFAULT_REALM
    claimant.sync_enabled = True
    claimant.save()
    _post_qbo([_cloud_event("ev-1")])

    inbound_event_process(event_id=InboundEvent.objects.get().pk)

    assert list(SyncLog.objects.values_list("connection_id", flat=True)) == [qbo_connection.pk]


@pytest.mark.parametrize(
    "payload",
    [
        {"eventNotifications": [5]},
        {"eventNotifications": "x"},
        {"eventNotifications": [{"realmId": DEFAULT_REALM, "dataChangeEvent": {"entities": 5}}]},
        {"eventNotifications": [{"realmId": DEFAULT_REALM, "dataChangeEvent": 5}]},
        {"eventNotifications": [{"dataChangeEvent": {"entities": []}}]},
        [{"id": "ev", "type": "qbo.customer.updated.v1"}],  # no intuitaccountid
        [{"id": "ev", "type": 5, "intuitaccountid": DEFAULT_REALM}],
        [{"id": ["x"], "type": "qbo.customer.updated.v1", "intuitaccountid": DEFAULT_REALM}],
    ],
)
def test_a_signed_malformed_quickbooks_payload_is_400(qbo_connection, payload):
    assert _post_qbo(payload).status_code == 400
    assert not InboundEvent.objects.exists()


@pytest.mark.parametrize(
    "payload",
    [
        {"events": 5},
        {"events": None},
        {"events": "x"},
        {"events": [5]},
        {"events": [{"eventCategory": "CONTACT"}]},  # no tenantId
        {"events": [{"tenantId": {"a": 1}, "resourceId": "r", "eventCategory": "CONTACT"}]},
        {"firstEventSequence": 1},
        [1, 2],
        None,
    ],
)
def test_a_signed_malformed_xero_payload_is_400(db, payload):
    assert _post_xero(payload).status_code == 400
    assert not InboundEvent.objects.exists()


def _xero_connection(business, tenant, **extra):
    return f.IntegrationConnectionFactory(
        business=business,
        provider=ProviderKey.XERO,
        name=f"Xero {tenant}",
        external_account_id=tenant,
        status=ConnectionStatus.CONNECTED,
        **extra,
    )


def _xero_event(tenant, *, when="2026-11-20T10:00:00.000", resource="717f2bfc"):
    return {
        "resourceUrl": f"https://api.xero.com/api.xro/2.0/Contacts/{resource}",
        "resourceId": resource,
        "eventDateUtc": when,
        "eventType": "UPDATE",
        "eventCategory": "CONTACT",
        "tenantId": tenant,
        "tenantType": "ORGANISATION",
    }


def _xero_payload(*events):
    return {"events": list(events), "firstEventSequence": 1, "lastEventSequence": 1, "entropy": "X"}


def test_a_business_with_its_own_xero_app_passes_the_intent_to_receive_check(
    other_business,
):
    _xero_connection(other_business, RIVAL_TENANT, credentials={"webhook_key": RIVAL_XERO_KEY})
    handshake = {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "A"}

    assert _post_xero(handshake, key=RIVAL_XERO_KEY).status_code == 200
    assert _post_xero(handshake, key="not-a-key").status_code == 401


# --- the shared webhook contract (tests/webhooks.py) ---------------------------------------------
class _AccountingContract(WebhookContract):
    run_on_commit = False  # the worker's steps run in process(), inside the test transaction

    def sign(self, body, *, key, path, content_type, timestamp):
        return {self.signature_header: _sign(body, key)}

    def refusal_recorded(self):
        return (
            IntegrationActivity.objects.filter(
                connection=self.connection, outcome=Outcome.REJECTED
            ).exists()
            and not InboundEvent.objects.filter(connection=self.connection).exists()
            and InboundEvent.objects.filter(connection=self.rival).exists()
        )


class TestQuickBooksWebhook(_AccountingContract):
    path = "/webhooks/quickbooks"
    signature_header = "intuit-signature"
    key, other_key = VERIFIER, RIVAL_VERIFIER

    @pytest.fixture(autouse=True)
    def _arrange(self, qbo_connection, provider, books, run, customer, other_business):
        self.connection, self.customer = qbo_connection, customer
        self.rival = _rival_qbo(other_business)
        self.ref = customer_link_or_create(run, customer)
        resource_sync(provider=provider, resource="customers", sync_log=None)
        # Two changes in the books; the webhooks about them may arrive in any order.
        row = books.rows["Customer"][self.ref.remote_id]
        for address in ("first@example.com", "second@example.com"):
            row["PrimaryEmailAddr"] = {"Address": address}
            books.touch("Customer", row)
        self.ids = count(1)

    def event(self, name):
        when = {"older": "2026-11-20T10:01:00Z", "newer": "2026-11-20T10:05:00Z"}.get(
            name, "2026-11-20T10:03:00Z"
        )
        return [_cloud_event(f"ev-{next(self.ids)}", entity_id=self.ref.remote_id, when=when)]

    def process(self):
        from apps.integrations.services import connection_sync

        for event in InboundEvent.objects.filter(status=InboundEvent.Status.PENDING):
            inbound_event_process(event_id=event.pk)
        for log in SyncLog.objects.filter(status=SyncLog.Status.QUEUED):
            connection_sync(sync_log_id=log.pk)

    def _webhook_syncs(self):
        return SyncLog.objects.filter(connection=self.connection, trigger="webhook").count()

    def state(self):
        self.customer.refresh_from_db()
        return (self.customer.email, self._webhook_syncs())

    def applied(self):
        return self._webhook_syncs()

    def after_out_of_order(self):
        return ("second@example.com", 2)  # each event read today's state: the newest change

    def wrong_tenant(self):
        payload = [
            {**_cloud_event("ev-rival"), "intuitaccountid": RIVAL_REALM},
            _cloud_event("ev-names-a", entity_id=self.ref.remote_id),
        ]
        return self.deliver(payload, key=RIVAL_VERIFIER)


class TestXeroWebhook(_AccountingContract):
    path = "/webhooks/xero"
    signature_header = "x-xero-signature"
    key, other_key = XERO_KEY, RIVAL_XERO_KEY

    @pytest.fixture(autouse=True)
    def _arrange(self, business, other_business):
        self.connection = _xero_connection(business, XERO_TENANT)
        self.rival = _xero_connection(
            other_business,
            RIVAL_TENANT,
            credentials={"webhook_key": RIVAL_XERO_KEY},
            sync_enabled=False,
        )

    def event(self, name):
        when = {"older": "2026-11-20T10:01:00.000", "newer": "2026-11-20T10:05:00.000"}.get(
            name, "2026-11-20T10:03:00.000"
        )
        return _xero_payload(_xero_event(XERO_TENANT, when=when))

    def process(self):
        # Syncs stay queued: there is no Xero here, and the queued read is the observable effect.
        for event in InboundEvent.objects.filter(status=InboundEvent.Status.PENDING):
            inbound_event_process(event_id=event.pk)

    def state(self):
        return sorted(
            SyncLog.objects.filter(connection=self.connection).values_list("sync_type", "status")
        )

    def applied(self):
        return InboundEvent.objects.filter(
            connection=self.connection, status=InboundEvent.Status.PROCESSED
        ).count()

    def after_out_of_order(self):
        # Either order asks for the same reads of today's state (coalesced while queued).
        return [("customers", "queued")]

    def wrong_tenant(self):
        payload = _xero_payload(_xero_event(RIVAL_TENANT), _xero_event(XERO_TENANT))
        return self.deliver(payload, key=RIVAL_XERO_KEY)
