"""Gunicorn's access log, minus the bearer tokens some URLs carry (the customer's tracking link)."""

from gunicorn.glogging import Logger

from apps.integrations.redaction import mask_url_tokens


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {k: mask_url_tokens(v) if isinstance(v, str) else v for k, v in atoms.items()}
