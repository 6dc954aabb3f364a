"""``boxoffice.core`` is the ground floor: it imports nothing of ours. Apps above it register
with it (schema extensions, permissions it must recognise) from their own ``AppConfig.ready``
or by duck typing, never the other way round."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from django.apps import apps
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.permissions import SAFE_METHODS

import boxoffice.core

CORE = Path(boxoffice.core.__file__).resolve().parent
OUR_APPS = ("boxoffice.",)


def _upward_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [
            f"{path.relative_to(CORE)}:{node.lineno} imports {name}"
            for name in names
            if name.startswith(OUR_APPS) and not name.startswith("boxoffice.core")
        ]
    return found


@pytest.mark.parametrize("name", ["apps.py", "openapi.py"])
def test_core_schema_and_app_config_import_nothing_of_ours(name):
    assert _upward_imports(CORE / name) == []


def test_core_imports_nothing_from_accounts():
    """core and accounts used to import each other (core/apps.py, core/openapi.py)."""
    upward = [
        line
        for path in sorted(CORE.rglob("*.py"))
        for line in _upward_imports(path)
        if "boxoffice.accounts" in line
    ]
    assert upward == []


def test_accounts_registers_its_own_schema_extension():
    """The cookie/Bearer authentication extension is loaded by accounts' AppConfig."""
    assert "ready" in type(apps.get_app_config("accounts")).__dict__
    from boxoffice.accounts.authentication import CookieOrHeaderJWTAuthentication

    extension = OpenApiAuthenticationExtension.get_match(CookieOrHeaderJWTAuthentication())
    assert extension is not None
    assert extension.name == ["bearerAuth", "cookieAuth"]


def test_admin_or_read_only_declares_anonymous_reads():
    """core's schema recognises read-only permissions by this attribute, not by class."""
    from boxoffice.accounts.permissions import IsAdmin, IsAdminOrReadOnly

    assert IsAdminOrReadOnly.allows_anonymous_reads is True
    assert getattr(IsAdmin, "allows_anonymous_reads", False) is False


def test_the_schema_still_marks_anonymous_reads_and_only_them():
    """An admin-or-read-only route: reads carry the empty requirement ``{}``, writes do not;
    an admin-only route never does."""
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    for path in ("/api/v1/movies/", "/api/v1/showtimes/", "/api/v1/movies/{id}/"):
        for method, operation in paths[path].items():
            anonymous = {} in operation.get("security", [])
            assert anonymous == (method.upper() in SAFE_METHODS), (path, method)
    assert {} not in paths["/api/v1/users/"]["get"]["security"]
    # Signing in needs no credentials at all: no requirement, so clients send no token.
    assert paths["/api/v1/auth/login/"]["post"]["security"] == []
