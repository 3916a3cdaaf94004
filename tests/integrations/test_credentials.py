import io

import pytest
from django.core.management import call_command
from django.db import connection as db

from apps.integrations.fields import CredentialsUndecryptable
from apps.integrations.models import IntegrationConnection
from tests import factories as f

SECRET = "s3cr3t-value-do-not-leak-9876"


def _raw_column(pk: int) -> str:
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT credentials FROM integrations_integrationconnection WHERE id = %s", [pk]
        )
        return cursor.fetchone()[0]


def test_credentials_are_encrypted_at_rest(business):
    conn = f.IntegrationConnectionFactory(business=business)
    raw = _raw_column(conn.pk)
    assert SECRET not in raw and "client_secret" not in raw  # key names are hidden too
    assert raw.startswith("gAAAAA")  # a Fernet token
    assert IntegrationConnection.objects.get(pk=conn.pk).credentials["client_secret"] == SECRET


def test_types_survive_the_round_trip(business):
    creds = {"expires_in": 3600, "scopes": ["a", "b"], "sandbox": True, "nested": {"x": 1}}
    conn = f.IntegrationConnectionFactory(business=business, credentials=creds)
    assert IntegrationConnection.objects.get(pk=conn.pk).credentials == creds


def test_old_key_still_decrypts_after_rotation_and_command_moves_rows_to_new_key(
    business, settings
):
    settings.FIELD_ENCRYPTION_KEYS = ["old-key-1"]
    conn = f.IntegrationConnectionFactory(business=business)
    before = _raw_column(conn.pk)

    settings.FIELD_ENCRYPTION_KEYS = ["new-key-2", "old-key-1"]  # rotation step 1: prepend
    assert IntegrationConnection.objects.get(pk=conn.pk).credentials["client_secret"] == SECRET

    call_command("rotate_credentials", stdout=io.StringIO())  # step 2: re-encrypt
    assert _raw_column(conn.pk) != before

    settings.FIELD_ENCRYPTION_KEYS = ["new-key-2"]  # step 3: drop the old key
    assert IntegrationConnection.objects.get(pk=conn.pk).credentials["client_secret"] == SECRET


def test_missing_key_fails_loudly_not_with_ciphertext(business, settings):
    settings.FIELD_ENCRYPTION_KEYS = ["key-a"]
    conn = f.IntegrationConnectionFactory(business=business)
    settings.FIELD_ENCRYPTION_KEYS = ["key-b"]
    with pytest.raises(CredentialsUndecryptable, match="rotate_credentials"):
        IntegrationConnection.objects.get(pk=conn.pk)


def test_masked_credentials_show_only_a_tail(business):
    conn = f.IntegrationConnectionFactory(
        business=business, credentials={"token": SECRET, "pin": "1234"}
    )
    assert conn.masked_credentials == {"token": "••••9876", "pin": "••••"}


def test_credentials_are_not_serialised(business):
    from django.core import serializers

    conn = f.IntegrationConnectionFactory(business=business)
    dumped = serializers.serialize("json", [conn])
    assert SECRET not in dumped and "<encrypted>" in dumped
