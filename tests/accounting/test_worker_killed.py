"""A worker process killed in the middle of a batch: after restart each invoice exists once."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.db import connection as db_connection

from apps.accounting.models import AccountingWrite
from apps.accounting.providers.quickbooks import QuickBooksProvider
from apps.accounting.services.outbox import write_open
from apps.accounting.services.refs import ref_get
from apps.accounting.services.sync import resource_sync
from tests.accounting.conftest import make_invoice

W = AccountingWrite
WORKER = textwrap.dedent(
    """
    import sys
    import django
    django.setup()
    from apps.accounting.providers.quickbooks import QuickBooksProvider
    from apps.accounting.services.sync import resource_sync
    from apps.integrations.models import IntegrationConnection

    connection = IntegrationConnection.objects.get(pk=int(sys.argv[1]))
    resource_sync(provider=QuickBooksProvider(connection), resource="invoices", sync_log=None)
    """
)


def _database_url() -> str:
    db = db_connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_leaves_nothing_twice_after_restart(
    qbo, qbo_connection, customer, category, settings
):
    invoices = [make_invoice(customer.business, customer, category) for _ in range(12)]
    for invoice in invoices:  # owed, without the event-triggered sync (eager here) sending them
        write_open(
            connection=qbo_connection, entity="invoice", object_id=invoice.pk, label=invoice.number
        )
    resource_sync(provider=QuickBooksProvider(qbo_connection), resource="items", sync_log=None)
    qbo.faults.timeout_delay = 120.0  # the batch is booked, then its answer never comes
    qbo.faults.inject("timeout", path_contains="/batch")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "thorbis.settings_test",
        "DATABASE_URL": _database_url(),
        "INTEGRATIONS_HTTP_READ_TIMEOUT": "300",
        "PYTHONPATH": str(Path(settings.BASE_DIR)),
    }
    worker = subprocess.Popen(  # noqa: S603 (our interpreter, our script)
        [sys.executable, "-c", WORKER, str(qbo_connection.pk)], cwd=settings.BASE_DIR, env=env
    )
    try:
        deadline = time.monotonic() + 60
        while qbo.stats["saved:Invoice"] < len(invoices):
            assert worker.poll() is None, "the worker ended before the batch reached QuickBooks"
            assert time.monotonic() < deadline, "the batch never reached QuickBooks"
            time.sleep(0.1)
        worker.send_signal(signal.SIGKILL)  # killed while waiting for the answer
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()

    in_doubt = W.objects.filter(entity="invoice", status=W.Status.SENDING)
    assert in_doubt.count() == len(invoices)  # claimed and committed before the request left
    assert len({w.request_id for w in in_doubt}) == 1
    books = qbo.company()
    assert len(books.rows["Invoice"]) == len(invoices)

    # The restarted worker (Celery redelivers the acks_late task) finds the rows in doubt once
    # their lease is over, and repeats the request under the same id.
    settings.ACCOUNTING_WRITE_LEASE_SECONDS = 0
    W.objects.filter(entity="invoice").update(lease_until="2000-01-01T00:00:00Z")
    outcome = resource_sync(
        provider=QuickBooksProvider(qbo_connection), resource="invoices", sync_log=None
    )

    assert outcome.succeeded == len(invoices)
    numbers = sorted(row["DocNumber"] for row in books.rows["Invoice"].values())
    assert numbers == sorted(i.number for i in invoices)  # each exactly once
    assert qbo.stats["replayed"] == 1
    assert all(ref_get(qbo_connection, invoice) for invoice in invoices)
