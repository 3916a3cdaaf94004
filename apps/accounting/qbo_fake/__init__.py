"""A stateful QuickBooks Online fake on 127.0.0.1 (tests, the benchmark, local demos).

Intuit publishes no OpenAPI document for the Accounting API and the community specs reject what
python-quickbooks sends, so this fake follows Intuit's documented payloads and rules instead.
It is not imported by production code paths; `manage.py accounting_benchmark` starts it.
"""

from .faults import KINDS as FAULT_KINDS
from .limits import QboLimits
from .server import DEFAULT_REALM, QboFake

__all__ = ["DEFAULT_REALM", "FAULT_KINDS", "QboFake", "QboLimits"]
