"""Answer Stripe's webhook URLs before the rest of the middleware stack runs.

Listed first in MIDDLEWARE. A webhook needs none of what follows (sessions, authentication,
CSRF, messages, allauth, clickjacking headers, request logging): the caller is Stripe, proven by
the signature, not a browser. Skipping them roughly halves the Python work per event. Every other
URL, and a non-POST to these, goes down the normal stack unchanged.
"""

from __future__ import annotations

import re

from django.urls import get_script_prefix, reverse

from apps.payments.webhooks.views import stripe_webhook_receive


class StripeWebhookMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._pattern: re.Pattern | None = None

    def _match(self, path: str) -> re.Match | None:
        if self._pattern is None:  # from the URLconf, so the mount point is not repeated here
            # path_info excludes the script prefix that reverse() includes.
            base = "/" + reverse("stripe-webhook-platform")[len(get_script_prefix()) :]
            self._pattern = re.compile(rf"{re.escape(base)}(?:/(\d+))?")
        return self._pattern.fullmatch(path)

    def __call__(self, request):
        if request.method == "POST":
            match = self._match(request.path_info)
            if match is not None:
                connection_id = int(match[1]) if match[1] else None
                return stripe_webhook_receive(
                    connection_id=connection_id, payload=request.body, headers=request.headers
                )
        return self.get_response(request)
