"""The token endpoint's credentials check, through our allauth adapter (apps/core/auth.py).

So the API has the same sign-in rule as the login page and the admin: allauth's per-address
limit on failures and our per-account lockout (apps/core/services/sign_in.py).
"""

from __future__ import annotations

from allauth.account.adapter import get_adapter
from django import forms
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import Throttled

# allauth's per-address limit does not say when it ends; its window is a minute.
PER_ADDRESS_RETRY_SECONDS = 60


class SignInTokenSerializer(AuthTokenSerializer):
    def validate(self, attrs):
        request = self.context["request"]._request  # the Django request allauth expects
        try:
            user = get_adapter(request).authenticate(
                request, username=attrs.get("username"), password=attrs.get("password")
            )
        except forms.ValidationError:  # allauth's "too many login attempts"
            lockout = getattr(request, "sign_in_lockout", None)
            raise Throttled(
                wait=lockout.retry_after if lockout else PER_ADDRESS_RETRY_SECONDS,
                detail="Too many failed sign-ins.",
            ) from None
        if user is None:
            # DRF's own wording, so clients that match on it keep working.
            raise serializers.ValidationError(
                _("Unable to log in with provided credentials."), code="authorization"
            )
        attrs["user"] = user
        return attrs
