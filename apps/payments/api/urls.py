"""Routes under /api/v1/ (included from apps/core/api/urls.py)."""

from rest_framework.routers import SimpleRouter

from apps.payments.api import views

router = SimpleRouter()
router.register("payments/invoices", views.InvoicePaymentsViewSet, basename="payments-invoice")
router.register("payments/intents", views.PaymentIntentViewSet, basename="payments-intent")
router.register(
    "payments/customers", views.CustomerPaymentMethodsViewSet, basename="payments-customer"
)

urlpatterns = router.urls
