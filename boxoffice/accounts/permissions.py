from rest_framework.permissions import SAFE_METHODS, BasePermission


class IsAdmin(BasePermission):
    """Users whose role is ``admin``."""

    message = "Only administrators may do this."

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_admin)


class IsAdminOrReadOnly(BasePermission):
    """Anyone may read; only administrators may write (the catalog and the schedule)."""

    message = "Only administrators may change the catalog and the schedule."
    # Read by the schema generator (boxoffice.core.openapi): reads need no sign-in.
    allows_anonymous_reads = True

    def has_permission(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        user = request.user
        return bool(user and user.is_authenticated and user.is_admin)
