"""One error tree for every vendor. Tasks decide retry vs stop from the class alone.

- TemporaryError: try again later (timeouts, 5xx, 429). RateLimited carries when.
- AuthenticationError: credentials are wrong or revoked; retrying cannot help, a person must act.
- RejectedError: the vendor understood and refused this record; fix the data, not the connection.
- NotConfigured: our side is not set up (no credentials, no app keys, no sender number); never
  retried, counted as "Setup incomplete" (not as a temporary error), and its message says what to
  set and where.

EventRefused is ours, not the vendor's: a verified webhook event names an object of another
connection or business, so it is refused (never applied, never retried) and recorded.
"""

from __future__ import annotations


class ProviderError(Exception):
    def __init__(self, message: str, *, status_code: int | None = None, vendor_code: str = ""):
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.vendor_code = vendor_code

    def __str__(self) -> str:
        return self.message


class TemporaryError(ProviderError):
    pass


class RateLimited(TemporaryError):
    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class AuthenticationError(ProviderError):
    pass


class RejectedError(ProviderError):
    pass


class NotConfigured(ProviderError):
    """The connection lacks something the provider needs (no credentials, no app keys, unknown
    provider). A configuration problem, not a vendor failure: the message names what is missing
    and what to do about it."""


class EventRefused(Exception):
    """A verified webhook event names an object that is not the receiving connection's.

    Raised by inbox handlers; the inbox marks the event `refused` (its writes rolled back) and
    counts a rejected webhook on `connection` (the one that received or was routed the event).
    """

    def __init__(self, message: str, *, connection=None):
        super().__init__(message)
        self.message = message
        self.connection = connection

    def __str__(self) -> str:
        return self.message
