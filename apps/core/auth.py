"""Our allauth adapter: no self sign-up, and the per-account sign-in lockout for every way in.

The API's token endpoint authenticates through this adapter too (apps/core/api/views.py), so the
login page, the admin (allauth's login) and the API share allauth's per-address limits and our
per-account lockout (apps/core/services/sign_in.py).
"""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.http import HttpRequest

from apps.core.services.sign_in import (
    sign_in_failure_record,
    sign_in_lockout_get,
    sign_in_success_record,
)


def _login_of(credentials: dict[str, Any]) -> str:
    return str(credentials.get("email") or credentials.get("username") or "")


class NoSignupAccountAdapter(DefaultAccountAdapter):
    """Staff accounts are created by an administrator; the public cannot sign up."""

    def is_open_for_signup(self, request) -> bool:
        return False

    def pre_authenticate(self, request: HttpRequest, **credentials: Any) -> None:
        super().pre_authenticate(request, **credentials)  # allauth's per-address limit
        lockout = sign_in_lockout_get(request=request, login=_login_of(credentials))
        if lockout is not None:
            # The password is not even checked: a locked address learns nothing from it.
            self._rollback_login_failed_rl_usage()
            request.sign_in_lockout = lockout
            raise self.validation_error("too_many_login_attempts")

    def authenticate(self, request: HttpRequest, **credentials: Any):
        user = super().authenticate(request, **credentials)
        if user is not None:
            sign_in_success_record(user_id=user.pk)
        return user

    def authentication_failed(self, request: HttpRequest, **credentials: Any) -> None:
        sign_in_failure_record(request=request, login=_login_of(credentials))
