"""Worker heartbeats: a periodic task per queue writes when a worker of that queue last ran."""

from __future__ import annotations

import socket

from django.utils import timezone

from apps.monitoring.models import Heartbeat


def heartbeat_record(*, component: str) -> Heartbeat:
    beat, _ = Heartbeat.objects.update_or_create(
        component=component[:60],
        defaults={"beat_at": timezone.now(), "detail": socket.gethostname()[:200]},
    )
    return beat
