"""One sync run's bookkeeping: counts, per-record failures in plain words, notes, caches."""

from __future__ import annotations

import dataclasses
import time

from apps.accounting.providers.base import Account, AccountingProvider
from apps.integrations.models import IntegrationConnection, ReportSeverity, SyncLog
from apps.integrations.providers import RecordFailure, SyncOutcome


@dataclasses.dataclass
class Run:
    provider: AccountingProvider
    sync_log: SyncLog | None = None
    processed: int = 0
    succeeded: int = 0
    failures: list[RecordFailure] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    deadline: float = dataclasses.field(default_factory=lambda: time.monotonic() + 3600)
    _accounts: list[Account] | None = None
    _mappings: dict | None = None

    @property
    def connection(self) -> IntegrationConnection:
        return self.provider.connection

    @property
    def vendor(self) -> str:
        return self.provider.display_name

    def ok(self, count: int = 1) -> None:
        self.processed += count
        self.succeeded += count

    def skip(self, count: int = 1) -> None:
        self.processed += count

    def fail(
        self,
        record_type: str,
        record_id: object,
        message: str,
        *,
        label: str = "",
        vendor_code: str = "",
    ) -> None:
        self.processed += 1
        self.failures.append(
            RecordFailure(
                record_type=record_type,
                record_id=str(record_id),
                message=message,
                record_label=label[:200],
                vendor_code=vendor_code[:50],
            )
        )

    def warn(
        self,
        record_type: str,
        record_id: object,
        message: str,
        *,
        change: str,
        label: str = "",
        severity: str = ReportSeverity.WARNING,
    ) -> None:
        """Report a change made at the vendor that a person should know about; it does not fail
        the run. `change` names it (object, what happened, the vendor's version), so the pulls
        that read it again within the overlap window record it once."""
        self.failures.append(
            RecordFailure(
                record_type=record_type,
                record_id=str(record_id),
                message=message,
                record_label=label[:200],
                severity=severity,
                dedupe_key=f"{self.connection.pk}:{record_type}:{change}",
            )
        )

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def accounts(self) -> list[Account]:
        if self._accounts is None:
            self._accounts = self.provider.accounts()
        return self._accounts

    def time_left(self) -> float:
        return self.deadline - time.monotonic()

    def outcome(self) -> SyncOutcome:
        return SyncOutcome(
            processed=self.processed,
            succeeded=self.succeeded,
            failures=tuple(self.failures),
            message=" ".join(self.notes)[:2000],
        )
