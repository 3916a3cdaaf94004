from __future__ import annotations

from rest_framework import serializers

from apps.payments.models import (
    CaptureMethod,
    IntentStatus,
    PaymentLink,
    SavedPaymentMethod,
    StripePaymentIntent,
)
from apps.payments.services.intents import ALLOWED_TYPES

PAYMENT_STATES = ["draft", "open", "overdue", "partially_paid", "processing", "paid", "void"]


def choice(choices, **kwargs) -> serializers.CharField:
    """A validated choice shown as a string listing its values, not a named enum: field names such
    as `status` and `capture_method` are shared with other apps' enums, and drf-spectacular would
    give all of them hashed names (and warnings) if ours joined in."""
    values = [c[0] if isinstance(c, tuple | list) else c for c in choices]

    class ChoiceString(serializers.CharField):
        def to_internal_value(self, data):
            value = super().to_internal_value(data)
            if value not in values:
                raise serializers.ValidationError(
                    f'"{value}" is not a valid choice. Choose from: {", ".join(values)}.'
                )
            return value

    help_text = kwargs.pop("help_text", "")
    kwargs["help_text"] = f"{help_text} One of: {', '.join(values)}.".strip()
    return ChoiceString(**kwargs)


class PaymentIntentInput(serializers.Serializer):
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        required=False,
        min_value=0,
        help_text="Default: the invoice's balance (less any debit still processing).",
    )
    payment_method_types = serializers.ListField(
        child=choice(ALLOWED_TYPES),
        required=False,
        allow_empty=False,
        help_text="card (incl. Apple Pay / Google Pay) and/or us_bank_account (ACH). Default: both for USD.",
    )
    capture_method = choice(CaptureMethod.choices, default=CaptureMethod.AUTOMATIC)
    saved_payment_method = serializers.IntegerField(
        required=False, help_text="Id of one of the customer's saved methods: charged now."
    )
    save_payment_method = serializers.BooleanField(
        default=False, help_text="Keep the card or bank account for the customer's next visit."
    )


class CaptureInput(serializers.Serializer):
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        required=False,
        min_value=0,
        help_text="Default: everything authorized.",
    )


class SetupIntentInput(serializers.Serializer):
    payment_method_types = serializers.ListField(
        child=choice(ALLOWED_TYPES), default=lambda: ["card"]
    )


class PaymentIntentSerializer(serializers.ModelSerializer):
    stripe_payment_intent_id = serializers.CharField(source="stripe_id")
    invoice = serializers.IntegerField(source="invoice_id")
    client_secret = serializers.SerializerMethodField()
    publishable_key = serializers.SerializerMethodField()
    recorded = serializers.SerializerMethodField()
    status = choice(IntentStatus.choices, read_only=True)
    capture_method = choice(CaptureMethod.choices, read_only=True)

    class Meta:
        model = StripePaymentIntent
        fields = (
            "id",
            "invoice",
            "stripe_payment_intent_id",
            "client_secret",
            "publishable_key",
            "status",
            "amount",
            "amount_received",
            "currency",
            "capture_method",
            "payment_method_types",
            "failure_message",
            "recorded",
            "created_at",
        )

    def get_client_secret(self, obj: StripePaymentIntent) -> str:
        # Only while the app can still use it: a finished intent's secret has no purpose.
        return obj.client_secret if obj.status not in ("succeeded", "canceled") else ""

    def get_publishable_key(self, obj: StripePaymentIntent) -> str:
        return str((obj.connection.credentials or {}).get("publishable_key", ""))

    def get_recorded(self, obj: StripePaymentIntent) -> bool:
        return obj.payment_id is not None


class PaymentLinkSerializer(serializers.ModelSerializer):
    class Meta:
        model = PaymentLink
        fields = ("id", "url", "amount", "currency", "active", "created_at")


class InvoicePaymentsSerializer(serializers.Serializer):
    invoice = serializers.IntegerField()
    number = serializers.CharField()
    payment_state = choice(PAYMENT_STATES)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    amount_paid = serializers.DecimalField(max_digits=12, decimal_places=2)
    balance_due = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    payment_intents = PaymentIntentSerializer(many=True)
    payment_link = PaymentLinkSerializer(allow_null=True)


class SavedPaymentMethodSerializer(serializers.ModelSerializer):
    label = serializers.CharField(source="__str__")
    type = choice(SavedPaymentMethod.Type.choices, read_only=True)

    class Meta:
        model = SavedPaymentMethod
        fields = ("id", "label", "type", "brand", "bank_name", "last4", "exp_month", "exp_year")


class SetupIntentSerializer(serializers.Serializer):
    setup_intent_id = serializers.CharField()
    client_secret = serializers.CharField()
    publishable_key = serializers.CharField()
