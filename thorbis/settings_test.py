"""Test settings: the production settings with test-only defaults filled in.

DATABASE_URL still wins, so `make test` on CI runs the same suite on PostgreSQL.
"""

import os

TEST_DEFAULTS = {
    "SECRET_KEY": "test-secret-key-not-for-production",
    "FIELD_ENCRYPTION_KEYS": "test-field-encryption-key-one",
    "LOG_FORMAT": "console",
    "CELERY_BROKER_URL": "memory://",
}
for name, value in TEST_DEFAULTS.items():
    if not os.environ.get(name, "").strip():  # set-but-empty counts as unset, as in settings
        os.environ[name] = value

from .settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CELERY_TASK_ALWAYS_EAGER = True
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_USE_FINDERS = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405  (whitenoise warns when it is missing)
