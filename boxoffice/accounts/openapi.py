"""Tells drf-spectacular how our authentication works, so Swagger's "Authorize" offers both
the Bearer header and the cookie."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class CookieOrHeaderJWTScheme(OpenApiAuthenticationExtension):
    target_class = "boxoffice.accounts.authentication.CookieOrHeaderJWTAuthentication"
    name = ["bearerAuth", "cookieAuth"]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "`Authorization: Bearer <access>` from POST /api/v1/auth/token/.",
            },
            {
                "type": "apiKey",
                "in": "cookie",
                "name": "access_token",
                "description": (
                    "HttpOnly cookie set by POST /api/v1/auth/login/. In Swagger UI, call login "
                    "with 'Try it out' and the browser sends the cookie (and the CSRF header) "
                    "on later calls."
                ),
            },
        ]
