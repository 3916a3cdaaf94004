"""Prometheus metrics, computed from the database at scrape time (no process-local counters, so
every web process answers the same). Integration figures cover the trailing 24 hours."""

from __future__ import annotations

from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from apps.core.models import Business
from apps.monitoring.models import Alert
from apps.monitoring.selectors.health import Status, business_health
from apps.monitoring.selectors.windows import rollup_complete_until
from apps.monitoring.views.service import beat_age, heartbeat_ages

CONNECTION_LABELS = ["business", "connection_id", "connection", "provider"]


class MonitoringCollector:
    """tenant_names: label series with business slugs and connection names (a scrape with the
    token); without, the same labels carry ids only (a scrape allowed by its address alone)."""

    def __init__(self, *, tenant_names: bool):
        self.tenant_names = tenant_names

    def collect(self):
        now = timezone.now()
        ops = GaugeMetricFamily(
            "thorbis_integration_operations_24h",
            "Operations in the last 24 hours, by outcome.",
            labels=[*CONNECTION_LABELS, "outcome"],
        )
        ratio = GaugeMetricFamily(
            "thorbis_integration_success_ratio_24h",
            "Share of operations that succeeded in the last 24 hours (absent without activity).",
            labels=CONNECTION_LABELS,
        )
        avg = GaugeMetricFamily(
            "thorbis_integration_duration_avg_ms_24h",
            "Average execution time in the last 24 hours, milliseconds.",
            labels=CONNECTION_LABELS,
        )
        p95 = GaugeMetricFamily(
            "thorbis_integration_duration_p95_ms_24h",
            "95th percentile execution time in the last 24 hours, milliseconds.",
            labels=CONNECTION_LABELS,
        )
        last_activity = GaugeMetricFamily(
            "thorbis_integration_last_activity_timestamp_seconds",
            "When the connection last did anything (Unix time).",
            labels=CONNECTION_LABELS,
        )
        last_success = GaugeMetricFamily(
            "thorbis_integration_last_success_timestamp_seconds",
            "When the connection last succeeded (Unix time).",
            labels=CONNECTION_LABELS,
        )
        status = GaugeMetricFamily(
            "thorbis_integration_status",
            "1 for the connection's current health status, 0 for the others.",
            labels=[*CONNECTION_LABELS, "status"],
        )
        reconnect = GaugeMetricFamily(
            "thorbis_integration_needs_reconnect",
            "1 when the vendor refused the connection's credentials.",
            labels=CONNECTION_LABELS,
        )
        for business in Business.objects.order_by("pk"):
            for h in business_health(business=business, now=now).connections:
                if self.tenant_names:
                    labels = [business.slug, str(h.key), h.name, h.provider]
                else:
                    labels = [str(business.pk), str(h.key), str(h.key), h.provider]
                for outcome, count in h.counts.by_outcome().items():
                    ops.add_metric([*labels, outcome], count)
                if h.operations:
                    ratio.add_metric(labels, h.successes / h.operations)
                    avg.add_metric(labels, h.counts.avg_ms or 0)
                if h.p95_ms is not None:
                    p95.add_metric(labels, h.p95_ms)
                if h.counts.last_activity_at:
                    last_activity.add_metric(labels, h.counts.last_activity_at.timestamp())
                if h.counts.last_success_at:
                    last_success.add_metric(labels, h.counts.last_success_at.timestamp())
                for name in Status.LABELS:
                    status.add_metric([*labels, name], 1 if h.status == name else 0)
                reconnect.add_metric(labels, 1 if h.needs_reconnect else 0)
        yield from (ops, ratio, avg, p95, last_activity, last_success, status, reconnect)

        alerts = GaugeMetricFamily(
            "thorbis_alerts_open", "Open alerts.", labels=["business", "kind", "severity"]
        )
        counts: dict[tuple[str, str, str], int] = {}
        business_label = "business__slug" if self.tenant_names else "business_id"
        for slug, kind, severity in Alert.objects.filter(resolved_at__isnull=True).values_list(
            business_label, "kind", "severity"
        ):
            slug = str(slug)
            counts[(slug, kind, severity)] = counts.get((slug, kind, severity), 0) + 1
        for key, count in sorted(counts.items()):
            alerts.add_metric(list(key), count)
        yield alerts

        worker = GaugeMetricFamily(
            "thorbis_worker_heartbeat_age_seconds",
            "Seconds since a worker of the queue ran the heartbeat task (absent: never).",
            labels=["queue"],
        )
        for queue, age in heartbeat_ages(now).items():
            if age is not None:
                worker.add_metric([queue], age)
        yield worker
        age = beat_age(now)
        if age is not None:
            yield GaugeMetricFamily(
                "thorbis_beat_heartbeat_age_seconds",
                "Seconds since beat last sent the heartbeat tasks.",
                value=age,
            )
        complete = rollup_complete_until()
        if complete is not None:
            yield GaugeMetricFamily(
                "thorbis_activity_rollup_lag_seconds",
                "Seconds between now and the end of the last complete hourly rollup.",
                value=(now - complete).total_seconds(),
            )


def metrics_text(*, tenant_names: bool) -> tuple[bytes, str]:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(MonitoringCollector(tenant_names=tenant_names))
    return generate_latest(registry), CONTENT_TYPE_LATEST
