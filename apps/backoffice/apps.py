from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps


class BackofficeConfig(AppConfig):
    """Templates, static files and views of the back office (dashboard, dispatch board)."""

    default = True
    name = "apps.backoffice"
    label = "backoffice"
    verbose_name = "Back office"


class BackofficeAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with our site as the default, so every `admin.register` lands on it."""

    default = False
    default_site = "apps.backoffice.site.BackofficeSite"
