"""The agent's durable queue and uploader against a live test server: an outage, a restart,
a lost response. Nothing lost, nothing duplicated."""

import socket
import uuid

import pytest
import requests
from rest_framework.authtoken.models import Token

from apps.diagnostics.agent.queue import DurableQueue
from apps.diagnostics.agent.runner import main
from apps.diagnostics.agent.uploader import AuthRefused, Uploader
from apps.diagnostics.models import Reading
from tests.diagnostics.conftest import reading


def dead_address() -> str:
    """An address where nothing listens: the server is unreachable."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def token(technician):
    return Token.objects.get_or_create(user=technician.user)[0].key


def test_queue_survives_a_restart(tmp_path):
    path = tmp_path / "q.sqlite3"
    q = DurableQueue(path)
    item = {"client_id": str(uuid.uuid4()), "value": "1"}
    assert q.put(item) is True
    assert q.put(item) is False  # same id queued once
    q.close()

    reopened = DurableQueue(path)
    assert reopened.pending() == [item]
    reopened.mark_sent([item["client_id"]])
    assert reopened.pending() == [] and reopened.stats().sent == 1


@pytest.mark.django_db(transaction=True)
def test_outage_then_restart_uploads_everything_exactly_once(
    live_server, token, work_order, tmp_path
):
    path = tmp_path / "agent.sqlite3"
    queue = DurableQueue(path)
    offline = Uploader(server=dead_address(), token=token, queue=queue, timeout=2)
    for i in range(5):
        queue.put(reading(work_order, "co", i, "ppm"))

    result = offline.flush()  # no signal in the basement
    assert result.offline and result.sent == 0 and queue.stats().pending == 5
    for i in range(5, 8):
        queue.put(reading(work_order, "o2", i, "pct"))
    queue.close()  # the laptop is shut and reopened

    queue = DurableQueue(path)
    online = Uploader(server=live_server.url, token=token, queue=queue, batch_size=3)
    result = online.flush()

    assert result.sent == 8 and not result.offline
    assert queue.stats().pending == 0
    assert Reading.objects.count() == 8
    assert online.flush().sent == 0  # nothing left, nothing sent twice
    assert Reading.objects.count() == 8


@pytest.mark.django_db(transaction=True)
def test_a_lost_response_is_resent_without_duplicating(live_server, token, work_order, tmp_path):
    queue = DurableQueue(tmp_path / "q.sqlite3")
    items = [reading(work_order, "co", i, "ppm") for i in range(3)]
    for item in items:
        queue.put(item)
    # The server stored the batch but the response never reached the agent.
    requests.post(
        live_server.url + "/api/v1/diagnostics/readings/",
        json={"readings": items},
        headers={"Authorization": f"Token {token}"},
        timeout=10,
    ).raise_for_status()

    result = Uploader(server=live_server.url, token=token, queue=queue).flush()

    assert result.sent == 3 and queue.stats().pending == 0
    assert Reading.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_an_invalid_reading_is_set_aside_and_the_rest_go_through(
    live_server, token, work_order, tmp_path
):
    queue = DurableQueue(tmp_path / "q.sqlite3")
    good = [reading(work_order, "co", 1, "ppm"), reading(work_order, "co", 2, "ppm")]
    bad = reading(work_order, "co", 3, "psig")
    for item in (good[0], bad, good[1]):
        queue.put(item)

    result = Uploader(server=live_server.url, token=token, queue=queue).flush()

    assert (result.sent, result.rejected) == (2, 1)
    assert queue.rejected()[0][0] == bad["client_id"] and "not a unit" in queue.rejected()[0][1]
    assert Reading.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_refused_token_stops_and_keeps_the_queue(live_server, work_order, tmp_path):
    queue = DurableQueue(tmp_path / "q.sqlite3")
    queue.put(reading(work_order, "co", 1, "ppm"))
    with pytest.raises(AuthRefused):
        Uploader(server=live_server.url, token="wrong", queue=queue).flush()
    assert queue.stats().pending == 1


@pytest.mark.django_db(transaction=True)
def test_cli_flush_exit_codes(live_server, token, work_order, tmp_path, capsys):
    path = str(tmp_path / "q.sqlite3")
    q = DurableQueue(path)
    q.put(reading(work_order, "co", 1, "ppm"))
    q.close()

    assert main(["--server", dead_address(), "--token", token, "--queue", path, "--flush"]) == 1
    assert main(["--server", live_server.url, "--token", token, "--queue", path, "--flush"]) == 0
    assert "sent 1" in capsys.readouterr().out
    assert (
        main(["--server", live_server.url, "--token", "nope", "--queue", path, "--flush"]) == 0
    )  # nothing pending
    assert main(["--server", live_server.url, "--queue", path]) == 2
    assert Reading.objects.count() == 1


def test_the_agent_runs_without_django():
    import subprocess
    import sys

    code = (
        "import sys, apps.diagnostics.agent.runner, apps.diagnostics.agent.capture;"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'django'], 'django imported'"
    )
    subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-c", code],
        check=True,
        cwd=str(__import__("pathlib").Path(__file__).parents[2]),
    )


def test_manage_py_entry_point_shares_the_command_line(capsys):
    from django.core.management import ManagementUtility

    with pytest.raises(SystemExit) as exit_:
        ManagementUtility(["manage.py", "diagnostics_agent", "--server", "http://x"]).execute()
    assert exit_.value.code == 2
    assert "missing --token, --work-order" in capsys.readouterr().err
