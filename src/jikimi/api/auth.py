from drf_spectacular.authentication import SessionScheme
from rest_framework.authentication import SessionAuthentication


class VerifiedSessionAuthentication(SessionAuthentication):
    """Browser sessions count for the API only after the second factor."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, auth = result
        if not getattr(request._request.user, "is_verified", lambda: False)():
            return None
        return user, auth


class VerifiedSessionScheme(SessionScheme):
    """Describes VerifiedSessionAuthentication in the OpenAPI schema as a cookie session."""

    target_class = "jikimi.api.auth.VerifiedSessionAuthentication"
    name = "verifiedSession"
