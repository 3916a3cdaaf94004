from .consent import ConsentEvent, ConsentRecord, ConsentStatus, EmailSuppression
from .log import (
    STATUS_RANK,
    AppointmentConfirmation,
    Channel,
    CommunicationLog,
    Direction,
    ScheduledMessage,
)
from .senders import SenderNumber
from .templates import AVAILABLE_VARIABLES, CommsSettings, MessageTemplate, TemplateKind

__all__ = [
    "AVAILABLE_VARIABLES",
    "STATUS_RANK",
    "AppointmentConfirmation",
    "Channel",
    "CommsSettings",
    "CommunicationLog",
    "ConsentEvent",
    "ConsentRecord",
    "ConsentStatus",
    "Direction",
    "EmailSuppression",
    "MessageTemplate",
    "ScheduledMessage",
    "SenderNumber",
    "TemplateKind",
]
