"""Send queued readings to POST /api/v1/diagnostics/readings/ in batches."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import requests

from apps.diagnostics.agent.queue import DurableQueue

log = logging.getLogger("diagnostics.agent")
READINGS_PATH = "/api/v1/diagnostics/readings/"


class AuthRefused(Exception):
    """The token was refused (401/403): retrying will not help; a person must fix the token."""


@dataclass
class FlushResult:
    sent: int = 0
    rejected: int = 0
    offline: bool = False


class Uploader:
    def __init__(
        self,
        *,
        server: str,
        token: str,
        queue: DurableQueue,
        batch_size: int = 100,
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ):
        self.url = server.rstrip("/") + READINGS_PATH
        self.queue = queue
        self.batch_size = batch_size
        self.timeout = timeout
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def flush(self) -> FlushResult:
        """Upload until the queue is empty or the server is unreachable."""
        result = FlushResult()
        while batch := self.queue.pending(self.batch_size):
            try:
                sent, rejected = self._send(batch)
            except (requests.ConnectionError, requests.Timeout) as exc:
                log.info(
                    "server unreachable; %d readings wait in the queue (%s)",
                    len(batch),
                    type(exc).__name__,
                )
                self.queue.mark_attempt([r["client_id"] for r in batch])
                result.offline = True
                return result
            except _ServerTrouble as exc:
                log.warning("server error %s; will retry", exc)
                result.offline = True
                return result
            result.sent += sent
            result.rejected += rejected
        return result

    def _send(self, batch: list[dict]) -> tuple[int, int]:
        response = self.session.post(self.url, json={"readings": batch}, timeout=self.timeout)
        if response.status_code in (200, 201):
            confirmed = [str(r["client_id"]) for r in response.json()["readings"]]
            self.queue.mark_sent(confirmed)
            return len(confirmed), 0
        if response.status_code in (401, 403):
            raise AuthRefused(f"the server refused the token ({response.status_code})")
        if response.status_code in (400, 404) and len(batch) > 1:
            # One bad reading must not hold back the others: send them one by one.
            sent = rejected = 0
            for reading in batch:
                s, r = self._send([reading])
                sent, rejected = sent + s, rejected + r
            return sent, rejected
        if response.status_code in (400, 404):
            self.queue.mark_rejected(
                batch[0]["client_id"], f"{response.status_code}: {response.text}"
            )
            log.error("reading %s refused: %s", batch[0]["client_id"], response.text[:300])
            return 0, 1
        raise _ServerTrouble(response.status_code)


class _ServerTrouble(Exception):
    pass
