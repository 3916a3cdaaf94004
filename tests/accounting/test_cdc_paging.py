"""QuickBooks change data capture past its 1,000-object cap: nothing changed is skipped."""

import datetime as dt

import pytest

from apps.accounting.qbo_fake.store import PACIFIC, qbo_time
from apps.accounting.services.sync import cursor_after

pytestmark = pytest.mark.django_db
CHANGED = 1500


def _changed_customers(books, count, start):
    """`count` customers changed one a second from `start` (as if edited over 25 minutes)."""
    rows = []
    for n in range(count):
        row = books.insert("Customer", {"DisplayName": f"Customer {n:04d}", "Active": True})
        when = start + dt.timedelta(seconds=n)
        row["MetaData"]["LastUpdatedTime"] = qbo_time(when)
        books._changed[("Customer", row["Id"])] = when
        rows.append(row)
    return rows


def test_more_than_a_thousand_changes_are_all_read_and_deletions_after_them_too(
    provider, run, books, qbo
):
    start = dt.datetime.now(tz=PACIFIC).replace(microsecond=0) - dt.timedelta(hours=1)
    rows = _changed_customers(books, CHANGED, start)
    gone = rows[-1]["Id"]
    books.deleted.append(("Customer", gone, start + dt.timedelta(seconds=CHANGED + 5)))
    del books.rows["Customer"][gone]

    first = provider.changes_since(entities=["customers"], since=start - dt.timedelta(minutes=1))

    assert first.truncated  # CDC hit its cap ...
    assert len({c.remote_id for c in first.customers}) == CHANGED - 1  # ... but nothing is skipped
    assert sum(1 for _, p in qbo.requests if "/query" in p) == 2  # two pages of 1,000
    assert first.deletions == ()  # the deletion is past CDC's first 1,000 objects

    # The cursor moves to the last change CDC showed; the next pull sees the deletion.
    since = cursor_after(run, first) - provider.pull_overlap
    second = provider.changes_since(entities=["customers"], since=since)

    assert [d.remote_id for d in second.deletions] == [gone]
    assert not second.truncated


def test_under_the_cap_one_cdc_call_is_enough(provider, books, qbo):
    start = dt.datetime.now(tz=PACIFIC).replace(microsecond=0) - dt.timedelta(minutes=30)
    _changed_customers(books, 20, start)

    changes = provider.changes_since(entities=["customers"], since=start)

    assert len(changes.customers) == 20 and not changes.truncated
    assert not [p for _, p in qbo.requests if "/query" in p]
