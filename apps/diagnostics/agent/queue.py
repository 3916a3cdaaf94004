"""A durable outbox in one SQLite file. A reading is committed here before anything else
happens to it, so a crash, a reboot or a dead network loses nothing; it leaves only when the
server has confirmed its client_id, so nothing is sent as two rows."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    client_id   TEXT PRIMARY KEY,
    payload     TEXT NOT NULL,
    enqueued_at REAL NOT NULL,
    sent_at     REAL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    rejected    TEXT
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (sent_at, rejected, enqueued_at);
"""


@dataclass(frozen=True)
class Stats:
    queued: int
    pending: int
    sent: int
    rejected: int


class DurableQueue:
    def __init__(self, path: str | Path):
        self.path = str(path)
        self._lock = threading.Lock()  # capture (event loop) and upload (thread) share it
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # survive power loss, not just a crash
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def put(self, reading: dict) -> bool:
        """Store a reading (must carry client_id). False if that id is already queued."""
        with self._lock:
            cur = self._db.execute(
                "INSERT OR IGNORE INTO outbox (client_id, payload, enqueued_at) VALUES (?, ?, ?)",
                (str(reading["client_id"]), json.dumps(reading), time.time()),
            )
            return cur.rowcount == 1

    def pending(self, limit: int = 100) -> list[dict]:
        with self._lock:
            rows = self._db.execute(
                "SELECT payload FROM outbox WHERE sent_at IS NULL AND rejected IS NULL "
                "ORDER BY enqueued_at, client_id LIMIT ?",
                (limit,),
            ).fetchall()
        return [json.loads(p) for (p,) in rows]

    def mark_sent(self, client_ids: list[str], at: float | None = None) -> None:
        at = at or time.time()
        with self._lock, self._db:
            self._db.executemany(
                "UPDATE outbox SET sent_at = ?, attempts = attempts + 1 WHERE client_id = ? AND sent_at IS NULL",
                [(at, str(c)) for c in client_ids],
            )

    def mark_attempt(self, client_ids: list[str]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "UPDATE outbox SET attempts = attempts + 1 WHERE client_id = ?",
                [(str(c),) for c in client_ids],
            )

    def mark_rejected(self, client_id: str, reason: str) -> None:
        """The server refused this reading as invalid; kept for a person to look at, not retried."""
        with self._lock, self._db:
            self._db.execute(
                "UPDATE outbox SET rejected = ? WHERE client_id = ?",
                (reason[:2000], str(client_id)),
            )

    def stats(self) -> Stats:
        with self._lock:
            (queued, pending, sent, rejected) = self._db.execute(
                "SELECT COUNT(*), SUM(sent_at IS NULL AND rejected IS NULL), SUM(sent_at IS NOT NULL), "
                "SUM(rejected IS NOT NULL) FROM outbox"
            ).fetchone()
        return Stats(queued, pending or 0, sent or 0, rejected or 0)

    def upload_lags(self) -> list[float]:
        with self._lock:
            rows = self._db.execute(
                "SELECT sent_at - enqueued_at FROM outbox WHERE sent_at IS NOT NULL"
            ).fetchall()
        return [r for (r,) in rows]

    def rejected(self) -> list[tuple[str, str]]:
        with self._lock:
            return self._db.execute(
                "SELECT client_id, rejected FROM outbox WHERE rejected IS NOT NULL"
            ).fetchall()
