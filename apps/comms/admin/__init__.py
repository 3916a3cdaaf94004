"""Comms back office. Importing the modules registers their ModelAdmins."""

from . import log, setup, templates  # noqa: F401
