"""Shapes of the routing API: plans with their routes, stops and unassigned jobs; positions."""

from __future__ import annotations

import datetime as dt

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.core.models import WorkOrder
from apps.routing.models import RoutePlan, RouteStop, RouteUnassigned, TechnicianRoute

_TECHNICIAN_OR_NULL = {
    "type": "object",
    "nullable": True,
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
    "required": ["id", "name"],
}


class StopWorkOrderSerializer(serializers.ModelSerializer):
    """What the technician needs to drive there and start: who, where, what, how to get in."""

    customer = serializers.CharField(source="customer.display_name", read_only=True)
    address = serializers.CharField(source="location.address_one_line", read_only=True)
    latitude = serializers.DecimalField(
        source="location.latitude", max_digits=9, decimal_places=6, read_only=True
    )
    longitude = serializers.DecimalField(
        source="location.longitude", max_digits=9, decimal_places=6, read_only=True
    )
    access_notes = serializers.CharField(source="location.access_notes", read_only=True)
    phone = serializers.SerializerMethodField()

    class Meta:
        model = WorkOrder
        fields = [
            "id",
            "number",
            "summary",
            "status",
            "priority",
            "customer",
            "phone",
            "address",
            "latitude",
            "longitude",
            "access_notes",
            "estimated_duration_minutes",
            "arrival_window_start",
            "arrival_window_end",
        ]
        read_only_fields = fields

    def get_phone(self, order: WorkOrder) -> str | None:
        phone = order.customer.phone
        return phone.as_e164 if phone else None


class StopSerializer(serializers.ModelSerializer):
    work_order = StopWorkOrderSerializer(read_only=True)

    class Meta:
        model = RouteStop
        fields = [
            "sequence",
            "eta",
            "service_start",
            "departure",
            "drive_minutes",
            "wait_minutes",
            "fixed",
            "eta_updated_at",
            "work_order",
        ]
        read_only_fields = fields


class TechnicianRouteSerializer(serializers.ModelSerializer):
    technician = serializers.SerializerMethodField()
    drive_minutes = serializers.SerializerMethodField()
    distance_km = serializers.SerializerMethodField()
    stops = serializers.SerializerMethodField()

    class Meta:
        model = TechnicianRoute
        fields = [
            "technician",
            "start_at",
            "end_at",
            "drive_minutes",
            "distance_km",
            "overtime_minutes",
            "lunch_start",
            "lunch_minutes",
            "lunch_skipped",
            "stops",
        ]
        read_only_fields = fields

    def get_technician(self, route: TechnicianRoute) -> dict:
        return {"id": route.technician_id, "name": str(route.technician)}

    def get_drive_minutes(self, route: TechnicianRoute) -> int:
        return round(route.drive_seconds / 60)

    def get_distance_km(self, route: TechnicianRoute) -> float:
        return round(route.distance_m / 1000, 1)

    def get_stops(self, route: TechnicianRoute) -> list[dict]:
        return StopSerializer(route.stops.all(), many=True, context=self.context).data


class UnassignedSerializer(serializers.ModelSerializer):
    work_order = serializers.SerializerMethodField()
    reason_label = serializers.CharField(source="get_reason_display", read_only=True)

    class Meta:
        model = RouteUnassigned
        fields = ["work_order", "reason", "reason_label", "detail"]
        read_only_fields = fields

    def get_work_order(self, item: RouteUnassigned) -> dict:
        order = item.work_order
        return {
            "id": order.pk,
            "number": order.number,
            "summary": order.summary,
            "priority": order.priority,
        }


class JobChangeSerializer(serializers.Serializer):
    """One work order applying changes: from whom, to whom (null: back to the queue), window."""

    work_order = serializers.SerializerMethodField()
    from_technician = serializers.SerializerMethodField()
    to_technician = serializers.SerializerMethodField()
    unassigns = serializers.BooleanField(read_only=True)
    window_start = serializers.DateTimeField(read_only=True, allow_null=True)
    window_end = serializers.DateTimeField(read_only=True, allow_null=True)
    window_is_new = serializers.BooleanField(
        read_only=True, help_text="The job had no window; applying gives it this one."
    )
    eta = serializers.DateTimeField(read_only=True, allow_null=True)
    why = serializers.CharField(
        read_only=True, help_text="For a job going back to the queue: the plan's reason."
    )

    @extend_schema_field(
        {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "number": {"type": "string"},
                "summary": {"type": "string"},
                "priority": {"type": "string"},
            },
            "required": ["id", "number", "summary", "priority"],
        }
    )
    def get_work_order(self, change) -> dict:
        return {
            "id": change.work_order_id,
            "number": change.number,
            "summary": change.summary,
            "priority": change.priority,
        }

    @extend_schema_field(_TECHNICIAN_OR_NULL)
    def get_from_technician(self, change) -> dict | None:
        if change.from_technician_id is None:
            return None
        return {"id": change.from_technician_id, "name": change.from_name}

    @extend_schema_field(_TECHNICIAN_OR_NULL)
    def get_to_technician(self, change) -> dict | None:
        if change.to_technician_id is None:
            return None
        return {"id": change.to_technician_id, "name": change.to_name}


class PlanSerializer(serializers.ModelSerializer):
    # Plain strings in the schema: a second enum named "status" (the work order's) would
    # collide in the OpenAPI component names.
    status = serializers.CharField(
        read_only=True, help_text="draft, applied, discarded or superseded"
    )
    kind = serializers.CharField(read_only=True, help_text="full (a day) or replan")
    routes = TechnicianRouteSerializer(many=True, read_only=True)
    unassigned = UnassignedSerializer(many=True, read_only=True)
    changes = serializers.SerializerMethodField()
    job_changes = serializers.SerializerMethodField()

    class Meta:
        model = RoutePlan
        fields = [
            "id",
            "date",
            "status",
            "kind",
            "trigger",
            "planned_at",
            "created_at",
            "travel_source",
            "kpis",
            "changes",
            "job_changes",
            "routes",
            "unassigned",
        ]
        read_only_fields = fields

    def get_changes(self, plan: RoutePlan) -> list[dict] | None:
        """For a draft: what applying it would change, per technician."""
        if plan.status != RoutePlan.Status.DRAFT:
            return None
        from apps.routing.services.diff import route_plan_diff

        diff = route_plan_diff(plan=plan)
        return [
            {
                "technician": {"id": c.technician_id, "name": c.name},
                "added": c.added,
                "removed": c.removed,
                "before": c.before,
                "after": c.after,
                "eta_moves": [
                    {"work_order": number, "from": old, "to": new} for number, old, new in c.moved
                ],
            }
            for c in diff.changed
        ]

    @extend_schema_field(JobChangeSerializer(many=True, allow_null=True))
    def get_job_changes(self, plan: RoutePlan) -> list[dict] | None:
        """For a draft: what applying all of it writes to each work order."""
        if plan.status != RoutePlan.Status.DRAFT:
            return None
        from apps.routing.services.diff import route_plan_job_changes

        return JobChangeSerializer(route_plan_job_changes(plan=plan), many=True).data


class ApplyInput(serializers.Serializer):
    confirm = serializers.BooleanField(
        default=False,
        help_text="Required (true) when applying sends jobs back to the unassigned queue; "
        "without it the answer is 409 with the list of changes and nothing is applied.",
    )
    technicians = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        allow_empty=False,
        max_length=500,
        help_text="Apply only these technicians' routes (ids); default: the whole plan.",
    )


class ApplyConfirmationSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField(help_text="confirmation_required")
    changes = JobChangeSerializer(many=True)


class OptimizeInput(serializers.Serializer):
    date = serializers.DateField(
        help_text="The day to plan, in the business's time zone: today up to 60 days ahead "
        "(ROUTING_POLICY horizon_days); other days answer 400."
    )
    time_limit = serializers.FloatField(
        required=False,
        min_value=0.1,
        max_value=30,
        help_text="Seconds the solver may think (default: 5 for a day, 1.2 for a re-plan).",
    )


class LocationInput(serializers.Serializer):
    latitude = serializers.DecimalField(max_digits=9, decimal_places=6, min_value=-90, max_value=90)
    longitude = serializers.DecimalField(
        max_digits=10, decimal_places=6, min_value=-180, max_value=180
    )
    accuracy_m = serializers.IntegerField(required=False, min_value=0, max_value=100_000)
    recorded_at = serializers.DateTimeField(
        required=False, help_text="When the phone took the fix (default: now)."
    )


class TodaySerializer(serializers.Serializer):
    date = serializers.DateField()
    plan_id = serializers.IntegerField(allow_null=True)
    technician = serializers.DictField()
    stops = StopSerializer(many=True)


def today_payload(*, date: dt.date, plan, technician, stops) -> dict:
    return {
        "date": date,
        "plan_id": plan.pk if plan else None,
        "technician": {"id": technician.pk, "name": str(technician)},
        "stops": stops,
    }
