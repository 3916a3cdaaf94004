"""Shapes of the routing API: plans with their routes, stops and unassigned jobs; positions."""

from __future__ import annotations

import datetime as dt

from rest_framework import serializers

from apps.core.models import WorkOrder
from apps.routing.models import RoutePlan, RouteStop, RouteUnassigned, TechnicianRoute


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
