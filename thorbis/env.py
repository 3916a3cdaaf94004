"""django-environ with two rules of ours, for every variable the settings read.

1. A variable set to the empty string (or only spaces) counts as unset: `DATABASE_URL=` in a
   `.env` file or a container spec means "no value", so the default applies. django-environ
   would parse the empty string instead (an empty database config, then `KeyError: 'ENGINE'`;
   an empty broker URL that Celery reads as amqp://; `int('')`).
2. A value that cannot be read as what the setting needs stops the process with one message
   naming the variable (ImproperlyConfigured), never a bare ValueError, and a boolean must be
   a word we know: `DJANGO_DEBUG=treu` is refused, not read as false.

The apps' conf modules read their variables through `env_setting()`, so they follow the same
rules. No Django import beyond the exception: settings import this module.
"""

from __future__ import annotations

import os

import environ
from django.core.exceptions import ImproperlyConfigured

TRUE_WORDS = frozenset({"true", "on", "yes", "y", "1", "ok"})
FALSE_WORDS = frozenset({"false", "off", "no", "n", "0"})


def blank(value: object) -> bool:
    return isinstance(value, str) and not value.strip()


def read_bool(name: str, raw: str) -> bool:
    word = raw.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (got an unrecognised word).")


class Env(environ.Env):
    def get_value(self, var, cast=None, default=environ.Env.NOTSET, parse_default=False):
        name = f"{self.prefix}{var}"
        raw = self.ENVIRON.get(name)
        if blank(raw):
            if default is self.NOTSET:
                raise ImproperlyConfigured(f"{name} is set but empty: give it a value.")
            return self.parse_value(default, cast) if parse_default else default
        if cast is bool and raw is not None:
            return read_bool(name, raw)
        try:
            return super().get_value(var, cast=cast, default=default, parse_default=parse_default)
        except (ValueError, TypeError) as exc:
            # The value itself is left out: it may be a secret.
            kind = getattr(cast, "__name__", None) or "the expected form"
            raise ImproperlyConfigured(f"{name} cannot be read as {kind}.") from exc

    def db_url(self, var=environ.Env.DEFAULT_DATABASE_ENV, default=environ.Env.NOTSET, engine=None):
        config = super().db_url(var, default=default, engine=engine)
        if not config.get("ENGINE"):
            # e.g. DATABASE_URL=postgre://... : django-environ only warns and returns no ENGINE.
            raise ImproperlyConfigured(
                f"{self.prefix}{var} has a scheme we do not know: use postgres://... or sqlite:///..."
            )
        return config


def env_setting(name: str, default: object) -> object:
    """An app setting from the environment, cast to the default's type; blank means unset."""
    raw = os.environ.get(name)
    if raw is None or blank(raw):
        return default
    if isinstance(default, str):
        return raw
    if isinstance(default, bool):
        return read_bool(name, raw)
    try:
        return type(default)(raw.strip())
    except (TypeError, ValueError) as exc:
        raise ImproperlyConfigured(f"{name} must be a number ({type(default).__name__}).") from exc
