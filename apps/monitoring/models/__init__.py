from .alerts import Alert, AlertNotification
from .rollups import ActivityErrorHourly, ActivityHourly, RollupState
from .service import Heartbeat, WeeklyReportDelivery
from .settings import MonitoringSettings

__all__ = [
    "ActivityErrorHourly",
    "ActivityHourly",
    "Alert",
    "AlertNotification",
    "Heartbeat",
    "MonitoringSettings",
    "RollupState",
    "WeeklyReportDelivery",
]
