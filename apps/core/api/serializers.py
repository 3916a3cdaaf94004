"""Shapes of the technician app API. Output only, except the two *Input serializers.

Money and quantities leave as exact Decimal strings (COERCE_DECIMAL_TO_STRING), phones in E.164,
datetimes with the business's offset (see mixins.BusinessContextMixin).
"""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers
from timezone_field.rest_framework import TimeZoneSerializerField

from apps.core.models import (
    Business,
    Customer,
    Equipment,
    LineItem,
    Part,
    ServiceLocation,
    Skill,
    Technician,
    User,
    WorkOrder,
    WorkOrderPart,
    WorkOrderStatus,
)
from apps.core.models.work_orders import ALLOWED_TRANSITIONS
from apps.core.services.work_order_lines import line_change_refusal
from apps.core.services.work_orders import transition_moves_for
from apps.core.tenancy import scoped


class E164Field(serializers.CharField):
    """A stored phone number as E.164 (+13035550123), or null when none is on file."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return value.as_e164 if value else None


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?$",
        "example": "08:00:00",
    }
)
class LocalTimeField(serializers.TimeField):
    """A time of day on the business's clock, without an offset (08:00:00). OpenAPI's `time`
    format is RFC 3339's, which requires an offset, so the schema gives the pattern instead."""


# A field's messages, or, for a nested object or list, the same shape one level down
# ({"readings": {"0": {"value": ["..."]}}}), which is how DRF reports nested input.
FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "additionalProperties": {
        "oneOf": [
            {"type": "array", "items": {"type": "string"}},
            {"type": "object", "additionalProperties": True},
        ]
    },
}


@extend_schema_field(FIELD_ERRORS_SCHEMA)
class FieldErrorsField(serializers.DictField):
    pass


class ApiErrorSerializer(serializers.Serializer):
    """The one error shape (apps.core.api.errors); documented so clients can rely on it."""

    detail = serializers.CharField(read_only=True, help_text="A message to show the person.")
    code = serializers.CharField(read_only=True)
    # Not read_only: drf-spectacular marks read-only fields required in responses, and 401, 403,
    # 404 and 429 answers carry no `errors`.
    errors = FieldErrorsField(
        required=False,
        help_text="Messages per input field, when the problem is with a field; nested input "
        "(a list of readings, say) nests the same way, by index.",
    )


# --- /me -----------------------------------------------------------------------------------------


class UserSerializer(serializers.ModelSerializer):
    name = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "name", "email", "role"]
        read_only_fields = fields

    def get_name(self, user: User) -> str:
        return user.get_full_name() or user.username


class BusinessSerializer(serializers.ModelSerializer):
    timezone = TimeZoneSerializerField(read_only=True)

    class Meta:
        model = Business
        fields = ["id", "name", "timezone", "currency"]
        read_only_fields = fields


class SkillSerializer(serializers.ModelSerializer):
    class Meta:
        model = Skill
        fields = ["id", "code", "name", "kind"]
        read_only_fields = fields


class HomeBaseSerializer(serializers.Serializer):
    address = serializers.CharField(source="home_base_address", read_only=True)
    latitude = serializers.DecimalField(
        source="home_latitude", max_digits=9, decimal_places=6, read_only=True, allow_null=True
    )
    longitude = serializers.DecimalField(
        source="home_longitude", max_digits=9, decimal_places=6, read_only=True, allow_null=True
    )


class TechnicianProfileSerializer(serializers.ModelSerializer):
    phone = E164Field()
    shift_start = LocalTimeField(read_only=True)
    shift_end = LocalTimeField(read_only=True)
    skills = SkillSerializer(many=True, read_only=True)
    home_base = HomeBaseSerializer(source="*", read_only=True)

    class Meta:
        model = Technician
        fields = ["id", "phone", "skills", "shift_start", "shift_end", "home_base", "active"]
        read_only_fields = fields


class MeSerializer(serializers.Serializer):
    user = UserSerializer()
    business = BusinessSerializer()
    technician = TechnicianProfileSerializer(allow_null=True, help_text="Null unless a technician.")


# --- Work orders ---------------------------------------------------------------------------------


class AssignedTechnicianSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="__str__", read_only=True)

    class Meta:
        model = Technician
        fields = ["id", "name"]
        read_only_fields = fields


class CustomerSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name", read_only=True)
    phone = E164Field()

    class Meta:
        model = Customer
        fields = ["id", "name", "company_name", "phone", "email"]
        read_only_fields = fields


class EquipmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Equipment
        fields = [
            "id",
            "kind",
            "manufacturer",
            "model_number",
            "serial_number",
            "refrigerant",
            "install_date",
            "warranty_expires",
        ]
        read_only_fields = fields


class LocationSerializer(serializers.ModelSerializer):
    address = serializers.CharField(source="address_one_line", read_only=True)
    timezone = TimeZoneSerializerField(read_only=True)
    equipment = EquipmentSerializer(
        many=True, read_only=True, help_text="Every unit on file at this location."
    )

    class Meta:
        model = ServiceLocation
        fields = [
            "id",
            "label",
            "address",
            "address_line1",
            "address_line2",
            "city",
            "region",
            "postal_code",
            "country",
            "latitude",
            "longitude",
            "timezone",
            "access_notes",
            "equipment",
        ]
        read_only_fields = fields


class LineSerializer(serializers.ModelSerializer):
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, read_only=True, help_text="quantity x unit_price"
    )
    editable = serializers.SerializerMethodField(
        help_text="Whether you may change or remove this line now (PATCH / DELETE)."
    )

    class Meta:
        model = LineItem
        fields = [
            "id",
            "kind",
            "description",
            "quantity",
            "unit_price",
            "amount",
            "part",
            "taxable",
            "created_at",
            "editable",
        ]
        read_only_fields = fields

    def get_editable(self, line: LineItem) -> bool:
        request = self.context.get("request")
        work_order = self.context.get("work_order") or line.work_order
        if request is None or work_order is None:
            return False
        return line_change_refusal(line=line, work_order=work_order, by=request.user) is None


class RequiredPartSerializer(serializers.ModelSerializer):
    part_id = serializers.IntegerField(source="part.id", read_only=True)
    sku = serializers.CharField(source="part.sku", read_only=True)
    name = serializers.CharField(source="part.name", read_only=True)
    unit_price = serializers.DecimalField(
        source="part.unit_price", max_digits=12, decimal_places=2, read_only=True
    )

    class Meta:
        model = WorkOrderPart
        fields = ["part_id", "sku", "name", "quantity", "unit_price"]
        read_only_fields = fields


class WorkOrderListSerializer(serializers.ModelSerializer):
    customer_name = serializers.CharField(source="customer.display_name", read_only=True)
    address = serializers.CharField(source="location.address_one_line", read_only=True)
    assigned_technician = AssignedTechnicianSerializer(read_only=True, allow_null=True)

    class Meta:
        model = WorkOrder
        fields = [
            "id",
            "number",
            "summary",
            "status",
            "priority",
            "arrival_window_start",
            "arrival_window_end",
            "estimated_duration_minutes",
            "customer_name",
            "address",
            "assigned_technician",
        ]
        read_only_fields = fields


class WorkOrderDetailSerializer(WorkOrderListSerializer):
    category = serializers.CharField(source="category.name", read_only=True)
    customer = CustomerSerializer(read_only=True)
    location = LocationSerializer(read_only=True)
    equipment = EquipmentSerializer(
        many=True, read_only=True, help_text="The units this job is about."
    )
    lines = LineSerializer(many=True, read_only=True)
    required_skills = SkillSerializer(many=True, read_only=True)
    required_parts = RequiredPartSerializer(source="part_requirements", many=True, read_only=True)
    allowed_next_statuses = serializers.SerializerMethodField()

    class Meta(WorkOrderListSerializer.Meta):
        fields = [
            *WorkOrderListSerializer.Meta.fields,
            "description",
            "category",
            "completed_at",
            "customer",
            "location",
            "equipment",
            "lines",
            "required_skills",
            "required_parts",
            "allowed_next_statuses",
        ]
        read_only_fields = fields

    def get_allowed_next_statuses(self, work_order: WorkOrder) -> list[str]:
        """The moves the caller may offer: the state machine, narrowed to field moves on their
        own job for a technician (the rule work_order_transition enforces)."""
        request = self.context.get("request")
        user = getattr(request, "user", None)
        if user is None:
            return sorted(ALLOWED_TRANSITIONS[work_order.status])
        return transition_moves_for(work_order, user)


# --- Input ---------------------------------------------------------------------------------------
@extend_schema_serializer(component_name="LineChange")
class LinePatchInput(serializers.Serializer):
    """The fields of a line that can be changed; leave out what stays as it is."""

    description = serializers.CharField(max_length=300, required=False)
    quantity = serializers.DecimalField(
        max_digits=10, decimal_places=3, min_value=Decimal("0.001"), required=False
    )
    unit_price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal("0"), required=False
    )
    taxable = serializers.BooleanField(required=False)


# Request-only serializers; named so the schema reads WorkOrderTransitionRequest / LineRequest and
# the line `kind` enum has one owner (no enum-name collision warning).
@extend_schema_serializer(component_name="WorkOrderTransition")
class TransitionInput(serializers.Serializer):
    status = serializers.ChoiceField(choices=WorkOrderStatus.choices)
    note = serializers.CharField(max_length=500, allow_blank=True, default="")


class BusinessPartField(serializers.PrimaryKeyRelatedField):
    """A part id resolved only within the caller's business: another business's id reads as
    unknown, exactly like an id that does not exist."""

    default_error_messages = {
        "does_not_exist": "Unknown part.",
        "incorrect_type": "Unknown part.",
    }

    def get_queryset(self):
        return scoped(Part, business=self.context["business"])


@extend_schema_serializer(component_name="Line")
class LineInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=LineItem.Kind.choices)
    description = serializers.CharField(
        max_length=300,
        allow_blank=True,
        default="",
        help_text="Defaults to the part's name when a part is given.",
    )
    quantity = serializers.DecimalField(
        max_digits=10, decimal_places=3, min_value=Decimal("0.001"), default=Decimal("1")
    )
    unit_price = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        allow_null=True,
        default=None,
        help_text="Optional when `part` is given: the catalogue price is used.",
    )
    # The queryset only names the model for the schema; get_queryset does the real lookup.
    part = BusinessPartField(queryset=Part.objects.none(), allow_null=True, default=None)
    taxable = serializers.BooleanField(default=True)
