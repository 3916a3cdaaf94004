"""The site's front page: what "View site" in the admin and a bare address lead to."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    """Signed-in office staff go straight to the back office; everyone else gets a small page
    with the way in (sign in), the API's documentation and its entry points."""
    user = request.user
    if user.is_authenticated and user.is_staff:
        return redirect("admin:index")
    return render(request, "core/home.html", {"signed_in": user.is_authenticated})
