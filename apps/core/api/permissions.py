from rest_framework.permissions import BasePermission


class IsBusinessMember(BasePermission):
    """Signed in and bound to a business: the precondition for every tenant-scoped endpoint."""

    message = "Your account is not linked to a business."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "business_id", None))
