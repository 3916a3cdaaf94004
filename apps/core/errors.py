class DomainError(Exception):
    """A request the business rules refuse. The message is shown to the person as is."""

    code = "invalid"
    http_status = 400  # what the API answers

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class TransitionRefused(DomainError):
    code = "transition_refused"


class NotPermitted(DomainError):
    """The rules allow the change, but not to this person (a technician and an office line)."""

    code = "not_permitted"
    http_status = 403
