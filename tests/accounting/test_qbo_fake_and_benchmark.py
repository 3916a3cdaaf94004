"""The QuickBooks fake enforces Intuit's rules; the benchmark command reports as documented."""

import json
from io import StringIO

import pytest
import requests
from django.core.management import CommandError, call_command

from apps.accounting.qbo_fake import DEFAULT_REALM, QboFake, QboLimits


@pytest.fixture
def small_fake():
    with QboFake(
        limits=QboLimits(per_minute=500, per_second=3, batches_per_minute=1, batch_size=2)
    ) as fake:
        fake.require_auth = False
        yield fake


def _post(fake, path, body, **params):
    return requests.post(
        f"{fake.api_base_url}/company/{DEFAULT_REALM}/{path}",
        json=body,
        params={"minorversion": 75, **params},
        timeout=5,
    )


def test_over_the_per_second_limit_is_a_429_with_retry_after(small_fake):
    answers = [_post(small_fake, "customer", {"DisplayName": f"C{n}"}) for n in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[3].headers["Retry-After"] == "1"
    assert answers[3].json()["Fault"]["Error"][0]["code"] == "3001"
    assert len(small_fake.company().rows["Customer"]) == 3  # the refused one changed nothing


def test_batches_are_capped_in_size_and_per_minute(small_fake):
    too_big = {
        "BatchItemRequest": [{"bId": str(n), "Query": "SELECT * FROM Customer"} for n in range(3)]
    }
    fine = {"BatchItemRequest": [{"bId": "1", "Query": "SELECT * FROM Customer"}]}

    assert (
        "exceeds the maximum of 2"
        in _post(small_fake, "batch", too_big).json()["Fault"]["Error"][0]["Detail"]
    )
    assert _post(small_fake, "batch", fine).status_code == 429  # the refused one above counted


def test_a_request_id_replays_the_first_answer_and_has_a_length_limit(small_fake):
    first = _post(small_fake, "customer", {"DisplayName": "Once"}, requestid="r-1")
    again = _post(small_fake, "customer", {"DisplayName": "Once"}, requestid="r-1")
    too_long = _post(small_fake, "customer", {"DisplayName": "Twice"}, requestid="x" * 51)

    assert first.json()["Customer"]["Id"] == again.json()["Customer"]["Id"]
    assert small_fake.stats["replayed"] == 1
    assert too_long.status_code == 400


def test_queries_escape_quotes_and_hide_inactive_names(small_fake):
    books = small_fake.company()
    books.insert("Customer", {"DisplayName": "O'Hara", "Active": True})
    books.insert("Customer", {"DisplayName": "Gone", "Active": False})
    ask = lambda q: requests.post(  # noqa: E731
        f"{small_fake.api_base_url}/company/{DEFAULT_REALM}/query",
        data=q,
        timeout=5,
        headers={"Content-Type": "application/text"},
    ).json()["QueryResponse"]

    assert [
        c["DisplayName"]
        for c in ask(r"SELECT * FROM Customer WHERE DisplayName = 'O\'Hara'")["Customer"]
    ] == ["O'Hara"]
    assert "Customer" not in ask("SELECT * FROM Customer WHERE DisplayName = 'Gone'")
    assert ask("SELECT COUNT(*) FROM Customer WHERE Active IN (true, false)")["totalCount"] == 2


def test_the_ceiling_is_computed_from_the_limits():
    assert QboLimits().ceiling_per_minute() == 40 * 30 + (500 - 40) == 1660


@pytest.mark.django_db
def test_the_benchmark_prints_exactly_the_documented_json():
    out = StringIO()

    call_command("accounting_benchmark", "--invoices", "45", "--json", "--workers", "1", stdout=out)

    result = json.loads(out.getvalue())
    assert list(result) == [
        "invoices",
        "invoices_per_min",
        "ceiling_per_min",
        "ratio",
        "duplicates",
        "lost",
    ]
    assert (result["invoices"], result["ceiling_per_min"]) == (45, 1660)
    assert (result["duplicates"], result["lost"]) == (0, 0)
    assert result["ratio"] == pytest.approx(result["invoices_per_min"] / 1660, abs=0.001)


@pytest.mark.django_db
def test_the_benchmark_refuses_a_silly_count():
    with pytest.raises(CommandError):
        call_command("accounting_benchmark", "--invoices", "0")
