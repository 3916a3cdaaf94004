"""Integrations back office. Importing the modules registers their ModelAdmins."""

from . import connections, events, sync  # noqa: F401
