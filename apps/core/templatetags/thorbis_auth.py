"""Template tags for the sign-in pages."""

from allauth.account.adapter import get_adapter
from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def signup_open(context) -> bool:
    """Whether the account adapter lets the public sign up (NoSignupAccountAdapter: never)."""
    request = context.get("request")
    return request is not None and get_adapter(request).is_open_for_signup(request)
