from rest_framework import serializers

from apps.integrations.models import SyncLog, SyncRecordError


class SyncRequestInput(serializers.Serializer):
    resources = serializers.ListField(
        child=serializers.CharField(max_length=30),
        required=False,
        allow_empty=False,
        help_text='Resources to sync, e.g. ["customers", "invoices"]. Omit for all.',
    )


class RecordErrorSerializer(serializers.ModelSerializer):
    # Plain strings: two enums named "status" would collide in the OpenAPI schema.
    status = serializers.CharField(read_only=True, help_text="open, retried or dismissed")
    severity = serializers.CharField(
        read_only=True,
        help_text="error (failed the run), warning (a vendor-side change to look at) or info",
    )

    class Meta:
        model = SyncRecordError
        fields = (
            "id",
            "record_type",
            "record_id",
            "record_label",
            "message",
            "vendor_code",
            "severity",
            "status",
            "created_at",
            "resolved_at",
        )


class SyncLogSerializer(serializers.ModelSerializer):
    resource = serializers.CharField(source="sync_type")
    status = serializers.CharField(
        read_only=True,
        help_text="queued (waiting, or retrying at next_attempt_at), running, succeeded, "
        "partial or failed",
    )
    record_errors = RecordErrorSerializer(many=True, read_only=True)

    class Meta:
        model = SyncLog
        fields = (
            "id",
            "resource",
            "direction",
            "trigger",
            "status",
            "processed",
            "succeeded",
            "failed",
            "warnings",
            "message",
            "next_attempt_at",
            "queued_at",
            "started_at",
            "completed_at",
            "duration_ms",
            "record_errors",
        )


class SyncQueuedSerializer(serializers.Serializer):
    sync_logs = SyncLogSerializer(many=True)


class ResourceStatusSerializer(serializers.Serializer):
    resource = serializers.CharField()
    direction = serializers.CharField()
    waiting = serializers.BooleanField(help_text="A run is queued and not finished.")
    last_run = SyncLogSerializer(allow_null=True)
    last_success_at = serializers.DateTimeField(allow_null=True)
    cursor = serializers.DateTimeField(
        allow_null=True, help_text="Changes read up to (vendor time)."
    )


class OutboxSerializer(serializers.Serializer):
    pending = serializers.IntegerField()
    in_doubt = serializers.IntegerField(
        help_text="Sent, answer not recorded; re-sent under the same key."
    )
    failed = serializers.IntegerField()


class SyncStatusSerializer(serializers.Serializer):
    connection = serializers.DictField()
    resources = ResourceStatusSerializer(many=True)
    outbox = OutboxSerializer()
    open_errors = serializers.IntegerField()


class ConnectedSerializer(serializers.Serializer):
    connection = serializers.IntegerField()
    status = serializers.CharField()
    company_id = serializers.CharField()
