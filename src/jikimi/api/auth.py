from django.utils.translation import gettext as _
from drf_spectacular.authentication import SessionScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import exceptions
from rest_framework.authentication import (
    BaseAuthentication,
    SessionAuthentication,
    get_authorization_header,
)

from jikimi.accounts import services as accounts
from jikimi.accounts.http import is_verified


class HashedTokenAuthentication(BaseAuthentication):
    """`Authorization: Token <key>`, checked against the hashed tokens of accounts.ApiToken.

    The same header as DRF's TokenAuthentication, so clients do not change; the checks (and
    the audit row of a refusal) are in accounts.services.authenticate_api_token.
    """

    keyword = "Token"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        try:
            # A header without a key, or with spaces in it, is refused (and audited) as
            # malformed, like any other token that cannot be right.
            key = parts[1].decode("ascii") if len(parts) == 2 else ""
        except UnicodeError:
            key = ""
        try:
            user, token = accounts.authenticate_api_token(key)
        except accounts.ApiTokenRefused as exc:
            raise exceptions.AuthenticationFailed(self._message(exc.reason))
        return user, token

    def authenticate_header(self, request):
        # Makes DRF answer 401 (with WWW-Authenticate: Token) rather than 403.
        return self.keyword

    @staticmethod
    def _message(reason: str) -> str:
        if reason == "malformed":
            return _("Invalid token header. Send 'Authorization: Token <token>'.")
        if reason == "revoked":
            return _("This API token has been revoked.")
        if reason == "expired":
            return _("This API token has expired. Make a new one on your account page.")
        if reason == "inactive":
            return _("The account of this API token is disabled.")
        return _("Invalid API token.")


class HashedTokenScheme(OpenApiAuthenticationExtension):
    """Describes HashedTokenAuthentication in the OpenAPI schema."""

    target_class = "jikimi.api.auth.HashedTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.keyword
        )


class VerifiedSessionAuthentication(SessionAuthentication):
    """Browser sessions count for the API only after the second factor."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None:
            return None
        user, auth = result
        if not is_verified(request._request.user):
            return None
        return user, auth


class VerifiedSessionScheme(SessionScheme):
    """Describes VerifiedSessionAuthentication in the OpenAPI schema as a cookie session."""

    target_class = "jikimi.api.auth.VerifiedSessionAuthentication"
    name = "verifiedSession"
