"""Credentials at rest: one Fernet token for the whole JSON document.

django-fernet-encrypted-fields' EncryptedJSONField encrypts each value but leaves key names in the
clear and turns every value into a string; vendor credentials need neither, so this field reuses
the package's key derivation and encrypts the whole document. Keys come from
settings.FIELD_ENCRYPTION_KEYS: the first encrypts, all decrypt (MultiFernet), which is rotation.
"""

from __future__ import annotations

import base64
import functools
import json

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


class CredentialsUndecryptable(ImproperlyConfigured):
    """Stored credentials do not open with any configured key (a key was dropped too early)."""


@functools.lru_cache(maxsize=8)
def _multifernet(secrets: tuple[str, ...], salts: tuple[str, ...]) -> MultiFernet:
    # PBKDF2 at 100k rounds costs ~50 ms a key, so derive once per key set, not per row.
    keys = []
    for secret in secrets:
        for salt in salts:
            kdf = PBKDF2HMAC(
                algorithm=hashes.SHA256(), length=32, salt=salt.encode(), iterations=100_000
            )
            keys.append(Fernet(base64.urlsafe_b64encode(kdf.derive(secret.encode()))))
    return MultiFernet(keys)


def credentials_fernet() -> MultiFernet:
    secrets = tuple(settings.FIELD_ENCRYPTION_KEYS)
    if not secrets or not all(secrets):
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS must list at least one non-empty key.")
    salts = tuple(
        settings.SALT_KEY if isinstance(settings.SALT_KEY, list | tuple) else [settings.SALT_KEY]
    )
    return _multifernet(secrets, salts)


class EncryptedJSONDocumentField(models.TextField):
    description = "A JSON document encrypted as a single Fernet token"

    def get_prep_value(self, value):
        if value is None:
            return None
        plaintext = json.dumps(value, sort_keys=True, separators=(",", ":"))
        return credentials_fernet().encrypt(plaintext.encode()).decode()

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        try:
            return json.loads(credentials_fernet().decrypt(value.encode()))
        except InvalidToken:
            raise CredentialsUndecryptable(
                f"{self.model.__name__}.{self.name} cannot be decrypted with FIELD_ENCRYPTION_KEYS; "
                "keep the old key in the list until `manage.py rotate_credentials` has run."
            ) from None

    def to_python(self, value):
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError:
                return value
        return value

    def value_to_string(self, obj):
        return "<encrypted>"  # never serialise secrets into fixtures or dumps


def reencrypt(token: str) -> str:
    """Re-encrypt one stored token under the first (current) key."""
    return credentials_fernet().rotate(token.encode()).decode()
