from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from apps.core.views import home

# Staff sign in through allauth (MFA-capable) rather than the bare admin login form.
admin.site.login = secure_admin_login(admin.site.login)
admin.site.site_header = "Thorbis Integrations Hub"
admin.site.site_title = "Thorbis"
admin.site.index_title = "Dispatch and integrations"

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include("apps.core.api.urls")),
    path("", include("apps.monitoring.urls")),
    path("track/", include("apps.routing.tracking.urls")),
    path("webhooks/", include("apps.accounting.webhooks_urls")),
    path("webhooks/", include("apps.payments.webhooks.urls")),
    path("webhooks/", include("apps.comms.webhooks_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves Swagger's start-up script as a file (?script): no inline script, so
    # it runs under the Content-Security-Policy.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]

# Unmatched URLs under /api/ answer the API's JSON 404 (a non-integer id, e.g.); others, HTML.
handler404 = "apps.core.api.fallbacks.not_found"
