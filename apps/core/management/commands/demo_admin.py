"""manage.py demo_admin: the demo superuser, created or brought back to the configured state."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import CommandError
from django.db import transaction

from apps.core.demo import DEFAULT_SLUG
from apps.core.management.base import DatabaseCommand
from apps.core.models import Business, Role, User
from apps.integrations.redaction import mask_secret

DEFAULT_DEMO_PASSWORD = "thorbis-demo"  # noqa: S105 (the documented demo default, refused in production)


class Command(DatabaseCommand):
    help = (
        "Create or update the superuser named by DEMO_ADMIN_USERNAME with DEMO_ADMIN_PASSWORD "
        "(defaults admin / thorbis-demo), bound to the demo business when it exists."
    )

    def handle(self, *args, **options):
        username = settings.DEMO_ADMIN_USERNAME.strip()
        password = settings.DEMO_ADMIN_PASSWORD
        if not username or not password:
            raise CommandError("DEMO_ADMIN_USERNAME and DEMO_ADMIN_PASSWORD must not be empty.")
        if password == DEFAULT_DEMO_PASSWORD and not settings.DEBUG:
            # A superuser with a published password must never reach a real deployment.
            raise CommandError(
                "Refusing to create a superuser with the default demo password while "
                "DJANGO_DEBUG is off. Set DEMO_ADMIN_PASSWORD to a strong secret."
            )
        business = Business.objects.filter(slug=DEFAULT_SLUG).first()
        with transaction.atomic():
            user = User.objects.select_for_update().filter(username=username).first()
            created = user is None
            if created:
                user = User(username=username)
            user.is_superuser = user.is_staff = user.is_active = True
            user.role = Role.ADMIN
            user.business = business  # superusers may have none; the demo binds it when seeded
            if not user.email:
                user.email = f"{username}@{(business.slug if business else 'thorbis')}.example.com"
            if created or not user.check_password(password):
                user.set_password(password)
            user.save()
        verb = "Created" if created else "Updated"
        where = f"bound to '{business.name}'" if business else "not bound to a business"
        self.stdout.write(self.style.SUCCESS(f"{verb} superuser '{username}' ({where})."))
        # The demo's own password is shown so a newcomer can sign in; a real one never is.
        shown = password if settings.DEBUG else f"{mask_secret(password)} (DEMO_ADMIN_PASSWORD)"
        self.stdout.write(f"  username: {username}\n  password: {shown}")
