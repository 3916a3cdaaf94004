"""One sending thread per sender number, each paced by that number's shared limiter.

A worker process sending a batch would otherwise wait on one number's limiter while the others
idle. Here every number has its own lane (a queue and a thread), so all of them send at once,
each at its own messages per second; other processes' lanes for the same number share its
budget through the limiter (Redis). Lanes do HTTP only, never the database: the caller's thread
reads finished items from `done` and writes them back in bulk.
"""

from __future__ import annotations

import queue
import threading
import time

from apps.comms.services.senders import sender_paced

# Other processes' lanes share each number's budget; the claim sizes keep waits to seconds.
LIMITER_MAX_WAIT_S = 60.0


class Lanes:
    def __init__(self, *, providers: dict, callback: str, validity: dict):
        self.providers, self.callback, self.validity = providers, callback, validity
        self.done: queue.SimpleQueue = queue.SimpleQueue()
        self.outstanding: dict[int, int] = {}  # sender pk -> queued or in flight (caller's view)
        self._queues: dict[int, queue.SimpleQueue] = {}
        self._threads: list[threading.Thread] = []
        self._abort = False

    def feed(self, items) -> None:
        for item in items:
            pk = item.sender.pk
            if pk not in self._queues:
                self._queues[pk] = queue.SimpleQueue()
                thread = threading.Thread(
                    target=self._run, args=(self._queues[pk],), name=f"sms-lane-{pk}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            self.outstanding[pk] = self.outstanding.get(pk, 0) + 1
            self._queues[pk].put(item)

    def take(self, timeout: float):
        """The next finished item, or None after `timeout` seconds."""
        try:
            item = self.done.get(timeout=timeout)
        except queue.Empty:
            return None
        self.outstanding[item.sender.pk] -= 1
        return item

    def busy(self) -> int:
        return sum(self.outstanding.values())

    def close(self, *, abort: bool = False) -> None:
        """Stop the threads once their queues are sent (abort: without sending what is left)."""
        self._abort = abort
        for q in self._queues.values():
            q.put(None)
        for thread in self._threads:
            thread.join()

    def _run(self, q: queue.SimpleQueue) -> None:
        while (item := q.get()) is not None:
            if self._abort:
                continue
            try:
                self._send(item)
            except Exception as exc:  # recorded per message by the caller
                item.error = item.error or exc
            finally:
                self.done.put(item)

    def _send(self, item) -> None:
        provider = self.providers.get(item.sender.pk)
        if provider is None:
            return  # item.error says why (no credentials, no adapter)
        try:
            with sender_paced(
                item.sender, segments=item.rendered.segments.segments, max_wait=LIMITER_MAX_WAIT_S
            ):
                if self._abort:  # the caller gave up while this text waited for its slot
                    return
                started, item.called = time.monotonic(), True
                try:
                    item.result = provider.message_send_untracked(
                        to=item.log.recipient,
                        from_=item.log.sender,
                        body=item.rendered.sms_body,
                        status_callback=self.callback,
                        validity_period_s=self.validity.get(item.msg.kind),
                    )
                finally:
                    item.duration_ms = int((time.monotonic() - started) * 1000)
        except Exception as exc:  # the vendor's answer, mapped as message_send would raise it
            item.error = provider.message_error(exc)
