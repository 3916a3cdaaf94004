from .activity import ActivityKind, IntegrationActivity, Outcome
from .connections import (
    AccountMapping,
    ConnectionStatus,
    Environment,
    IntegrationConnection,
    ProviderKey,
)
from .inbox import InboundEvent
from .sync import (
    Direction,
    ExternalRef,
    ReportSeverity,
    SyncLog,
    SyncMapping,
    SyncRecordError,
)

__all__ = [
    "AccountMapping",
    "ActivityKind",
    "ConnectionStatus",
    "Direction",
    "Environment",
    "ExternalRef",
    "InboundEvent",
    "IntegrationActivity",
    "IntegrationConnection",
    "Outcome",
    "ProviderKey",
    "ReportSeverity",
    "SyncLog",
    "SyncMapping",
    "SyncRecordError",
]
