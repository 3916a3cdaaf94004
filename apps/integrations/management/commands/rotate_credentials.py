from django.db import connection as db
from django.db import transaction

from apps.core.management.base import DatabaseCommand
from apps.integrations.fields import reencrypt
from apps.integrations.models import IntegrationConnection

TABLE = IntegrationConnection._meta.db_table
SELECT = f"SELECT id, credentials FROM {TABLE} WHERE credentials IS NOT NULL"  # noqa: S608 (constant)
UPDATE = f"UPDATE {TABLE} SET credentials = %s WHERE id = %s"  # noqa: S608 (constant)


class Command(DatabaseCommand):
    help = "Re-encrypt stored credentials under the first FIELD_ENCRYPTION_KEYS key."

    def handle(self, *args, **options):
        # Works on the raw tokens, so no decrypted secret is ever held in a model instance.
        with transaction.atomic(), db.cursor() as cursor:
            cursor.execute(SELECT)
            rows = cursor.fetchall()
            for pk, token in rows:
                cursor.execute(UPDATE, [reencrypt(token), pk])
        self.stdout.write(
            self.style.SUCCESS(f"Re-encrypted credentials of {len(rows)} connection(s).")
        )
