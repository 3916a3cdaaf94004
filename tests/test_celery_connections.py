"""Workers reuse database connections between tasks but still drop broken ones."""

import pytest
from django.db import connection

from thorbis.celery import app, drop_stale_connections


def test_workers_reuse_connections_between_tasks():
    assert app.conf.get("CELERY_DB_REUSE_MAX", 0) > 0


def test_an_unusable_connection_is_dropped_before_the_next_task(transactional_db):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("Django never closes an in-memory SQLite connection: it would lose the data")
    connection.ensure_connection()
    connection.errors_occurred = True  # what Django marks after a failed query
    connection.close_at = None
    original = connection.is_usable
    connection.is_usable = lambda: False
    try:
        drop_stale_connections()
        assert connection.connection is None
    finally:
        connection.is_usable = original


def test_an_eager_task_keeps_its_callers_connection(transactional_db):
    from django.db import transaction

    class EagerTask:
        class request:
            is_eager = True

    with transaction.atomic():
        connection.ensure_connection()
        drop_stale_connections(task=EagerTask)
        assert connection.connection is not None
        assert connection.in_atomic_block
