"""The customer's live tracking page: a signed link per work order, served without a login."""

from .tokens import tracking_link, tracking_url_for

__all__ = ["tracking_link", "tracking_url_for"]
