from .oauth import AccountingConnection, OAuthState
from .sync import AccountingWrite, OverwriteAudit, SyncCursor, WriteStep

__all__ = [
    "AccountingConnection",
    "AccountingWrite",
    "OAuthState",
    "OverwriteAudit",
    "SyncCursor",
    "WriteStep",
]
