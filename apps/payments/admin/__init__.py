"""Payments in the back office. Importing the modules registers their ModelAdmins."""

from . import agreements, payments  # noqa: F401
