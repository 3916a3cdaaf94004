"""Technician app payment API (mounted under /api/v1/payments/)."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from apps.core.api.mixins import BusinessScopedViewSetMixin
from apps.core.api.serializers import ApiErrorSerializer
from apps.core.errors import DomainError
from apps.core.models import Customer, Invoice
from apps.integrations.errors import AuthenticationError, ProviderError, RejectedError
from apps.payments.api.serializers import (
    CaptureInput,
    InvoicePaymentsSerializer,
    PaymentIntentInput,
    PaymentIntentSerializer,
    PaymentLinkSerializer,
    SavedPaymentMethodSerializer,
    SetupIntentInput,
    SetupIntentSerializer,
)
from apps.payments.models import PaymentLink, SavedPaymentMethod, StripePaymentIntent
from apps.payments.services.common import publishable_key, stripe_connection_for
from apps.payments.services.customers import saved_payment_methods_refresh, setup_intent_create
from apps.payments.services.intents import (
    invoice_payment_state,
    payment_intent_cancel,
    payment_intent_capture,
    payment_intent_create,
)
from apps.payments.services.links import payment_link_get_or_create

ERROR_400 = OpenApiResponse(ApiErrorSerializer, description="Refused or invalid input.")
ERROR_402 = OpenApiResponse(ApiErrorSerializer, description="Stripe declined (e.g. the card).")
ERROR_404 = OpenApiResponse(ApiErrorSerializer, description="Not in your business.")
ERROR_503 = OpenApiResponse(ApiErrorSerializer, description="Stripe unreachable; try again.")


class VendorDeclined(APIException):
    status_code = 402
    default_code = "payment_declined"


class VendorUnavailable(APIException):
    status_code = 503
    default_code = "payments_unavailable"


class ProviderErrorsMixin:
    """Stripe's refusals reach the app as 402 with Stripe's words; outages as 503."""

    def handle_exception(self, exc):
        if isinstance(exc, RejectedError):
            exc = VendorDeclined(str(exc))
        elif isinstance(exc, AuthenticationError):
            exc = VendorUnavailable("The business's Stripe connection needs reconnecting.")
        elif isinstance(exc, ProviderError):
            # The error tree's message (ours, never the SDK's text), then what to do.
            exc = VendorUnavailable(f"{exc.message} Try again in a moment.")
        return super().handle_exception(exc)


def _technician_scope(user, queryset: QuerySet, path: str) -> QuerySet:
    """Office staff see the whole business; a technician only what hangs off their own jobs."""
    if user.is_superuser or user.is_office_staff:
        return queryset
    return queryset.filter(**{f"{path}assigned_technician__user": user}).distinct()


@extend_schema(tags=["payments"])
class InvoicePaymentsViewSet(ProviderErrorsMixin, BusinessScopedViewSetMixin, GenericViewSet):
    queryset = Invoice.objects.all()
    serializer_class = InvoicePaymentsSerializer

    def safely_get_queryset(self, queryset):
        return _technician_scope(self.request.user, queryset, "work_order__").select_related(
            "customer"
        )

    def _summary(self, invoice: Invoice) -> dict:
        invoice.refresh_from_db()
        intents = StripePaymentIntent.objects.filter(invoice=invoice).select_related("connection")
        link = PaymentLink.objects.filter(
            invoice=invoice, active=True, stripe_id__isnull=False
        ).first()
        return {
            "invoice": invoice.pk,
            "number": invoice.number,
            "payment_state": invoice_payment_state(invoice),
            "total": invoice.total,
            "amount_paid": invoice.amount_paid,
            "balance_due": invoice.balance_due,
            "currency": invoice.currency,
            "payment_intents": intents,
            "payment_link": link,
        }

    @extend_schema(
        summary="Payment state of an invoice: paid, partially paid, processing (ACH) or open",
        responses={200: InvoicePaymentsSerializer, 404: ERROR_404},
    )
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(InvoicePaymentsSerializer(self._summary(self.get_object())).data)

    @extend_schema(
        summary="Start a card / wallet / ACH payment; returns the client secret for the Payment Element",
        request=PaymentIntentInput,
        responses={
            201: PaymentIntentSerializer,
            400: ERROR_400,
            402: ERROR_402,
            404: ERROR_404,
            503: ERROR_503,
        },
    )
    @action(detail=True, methods=["post"], url_path="payment-intents")
    def payment_intents(self, request: Request, pk: str | None = None) -> Response:
        invoice = self.get_object()
        payload = PaymentIntentInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        saved = None
        if data.get("saved_payment_method") is not None:
            saved = (
                SavedPaymentMethod.objects.for_business(self.business)
                .filter(
                    pk=data["saved_payment_method"],
                    customer=invoice.customer,
                    detached_at__isnull=True,
                )
                .first()
            )
            if saved is None:
                raise DomainError(
                    "That saved payment method is not one of this customer's.",
                    field="saved_payment_method",
                )
        record = payment_intent_create(
            invoice=invoice,
            by=request.user,
            amount=data.get("amount"),
            payment_method_types=data.get("payment_method_types"),
            capture_method=data["capture_method"],
            saved_payment_method=saved,
            save_payment_method=data["save_payment_method"],
        )
        return Response(PaymentIntentSerializer(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="The invoice's pay link (text-to-pay / email-to-pay); never expires",
        request=None,
        responses={
            200: PaymentLinkSerializer,
            400: ERROR_400,
            402: ERROR_402,
            404: ERROR_404,
            503: ERROR_503,
        },
    )
    @action(detail=True, methods=["post"], url_path="payment-link")
    def payment_link(self, request: Request, pk: str | None = None) -> Response:
        link = payment_link_get_or_create(invoice=self.get_object())
        return Response(PaymentLinkSerializer(link).data)


@extend_schema(tags=["payments"])
class PaymentIntentViewSet(ProviderErrorsMixin, BusinessScopedViewSetMixin, GenericViewSet):
    queryset = StripePaymentIntent.objects.all()
    serializer_class = PaymentIntentSerializer

    def safely_get_queryset(self, queryset):
        return _technician_scope(
            self.request.user, queryset, "invoice__work_order__"
        ).select_related("connection", "invoice")

    @extend_schema(
        summary="One payment attempt and its status",
        responses={200: PaymentIntentSerializer, 404: ERROR_404},
    )
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        return Response(PaymentIntentSerializer(self.get_object()).data)

    @extend_schema(
        summary="Capture an authorized deposit (all or part of it)",
        request=CaptureInput,
        responses={200: PaymentIntentSerializer, 400: ERROR_400, 402: ERROR_402, 404: ERROR_404},
    )
    @action(detail=True, methods=["post"])
    def capture(self, request: Request, pk: str | None = None) -> Response:
        record = self.get_object()
        payload = CaptureInput(data=request.data)
        payload.is_valid(raise_exception=True)
        record = payment_intent_capture(
            record=record, amount=payload.validated_data.get("amount"), by=request.user
        )
        return Response(PaymentIntentSerializer(record).data)

    @extend_schema(
        summary="Cancel an unpaid intent or release an authorization",
        request=None,
        responses={200: PaymentIntentSerializer, 400: ERROR_400, 404: ERROR_404},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        record = payment_intent_cancel(record=self.get_object(), by=request.user)
        return Response(PaymentIntentSerializer(record).data)


@extend_schema(tags=["payments"])
class CustomerPaymentMethodsViewSet(
    ProviderErrorsMixin, BusinessScopedViewSetMixin, GenericViewSet
):
    queryset = Customer.objects.all()
    serializer_class = SavedPaymentMethodSerializer

    def safely_get_queryset(self, queryset):
        if self.request.user.is_superuser or self.request.user.is_office_staff:
            return queryset
        return queryset.filter(work_orders__assigned_technician__user=self.request.user).distinct()

    @extend_schema(
        summary="The customer's saved cards and bank accounts (?refresh=1 asks Stripe first)",
        responses={200: SavedPaymentMethodSerializer(many=True), 404: ERROR_404},
    )
    # A plain list (a customer has a handful): no pagination, so the schema says a list too.
    @action(detail=True, methods=["get"], url_path="payment-methods", pagination_class=None)
    def payment_methods(self, request: Request, pk: str | None = None) -> Response:
        customer = self.get_object()
        if request.query_params.get("refresh") in ("1", "true"):
            saved_payment_methods_refresh(customer=customer)
        methods = SavedPaymentMethod.objects.for_business(self.business).filter(
            customer=customer, detached_at__isnull=True
        )
        return Response(SavedPaymentMethodSerializer(methods, many=True).data)

    @extend_schema(
        summary="Save a card or bank account without charging (SetupIntent client secret)",
        request=SetupIntentInput,
        responses={201: SetupIntentSerializer, 400: ERROR_400, 404: ERROR_404, 503: ERROR_503},
    )
    @action(detail=True, methods=["post"], url_path="setup-intents")
    def setup_intents(self, request: Request, pk: str | None = None) -> Response:
        customer = self.get_object()
        payload = SetupIntentInput(data=request.data)
        payload.is_valid(raise_exception=True)
        setup_id, secret = setup_intent_create(
            customer=customer,
            payment_method_types=payload.validated_data["payment_method_types"],
            request_key=request.headers.get("Idempotency-Key", "")[:100],
        )
        connection = stripe_connection_for(self.business)
        data = {
            "setup_intent_id": setup_id,
            "client_secret": secret,
            "publishable_key": publishable_key(connection),
        }
        return Response(SetupIntentSerializer(data).data, status=status.HTTP_201_CREATED)
