"""The dispatchers' back office. Importing the modules registers their ModelAdmins."""

from . import billing, catalog, customers, people, work_order_lines, work_orders  # noqa: F401
