"""The project documents itself.

- The OpenAPI schema is valid and warning-free; Swagger UI and ReDoc work offline.
- Nothing points outside the repository, and every relative link in the README and docs/ leads to
  a file (and heading) that exists: a clone has only what is tracked, so the contract is
  docs/api.md and the design docs/architecture.md, not notes kept beside the repository."""

from __future__ import annotations

import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db

CDN_HOSTS = re.compile(
    r"cdn|jsdelivr|unpkg|googleapis|gstatic|cloudflare|bootstrapcdn|fontawesome", re.I
)
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


class _AssetCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append(value)


def assets_of(html: str) -> list[str]:
    collector = _AssetCollector()
    collector.feed(html)
    return collector.urls


def fetch_fully(client, url: str):  # type: ignore[no-untyped-def]
    response = client.get(url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    response.close()  # whitenoise responses hold an open file
    return response, body


def test_spectacular_validates_without_warnings(tmp_path: Path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert "openapi: 3" in out.read_text()


@pytest.fixture
def schema(api) -> dict:
    response = api.get("/api/schema/?format=json")
    assert response.status_code == 200
    return json.loads(response.content)


def operations(schema: dict):  # type: ignore[no-untyped-def]
    for path, item in schema["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def test_schema_documents_every_operation_with_tags_summary_and_errors(schema):
    ops = list(operations(schema))
    assert len(ops) > 20
    problems = []
    for path, method, op in ops:
        where = f"{method.upper()} {path}"
        if not op.get("tags"):
            problems.append(f"{where}: no tags")
        if not (op.get("summary") or "").strip():
            problems.append(f"{where}: no summary")
        if not any(code.startswith("4") for code in op.get("responses", {})):
            problems.append(f"{where}: no error responses documented")
    assert problems == []


def test_schema_paths_are_unique_and_versioned(schema):
    paths = list(schema["paths"])
    assert not [p for p in paths if "{format}" in p]
    assert all(p.startswith("/api/v1/") for p in paths)
    for expected in [
        "/api/v1/auth/register/",
        "/api/v1/auth/login/",
        "/api/v1/auth/csrf/",
        "/api/v1/auth/token/",
        "/api/v1/auth/refresh/",
        "/api/v1/auth/logout/",
        "/api/v1/auth/me/",
        "/api/v1/users/",
        "/api/v1/users/{id}/promote/",
        "/api/v1/genres/",
        "/api/v1/movies/",
        "/api/v1/movies/{movie_id}/showtimes/",
        "/api/v1/theaters/",
        "/api/v1/screens/",
        "/api/v1/screens/{id}/seats/",
        "/api/v1/screens/{id}/seats/generate/",
        "/api/v1/showtimes/",
    ]:
        assert expected in paths


def test_schema_offers_bearer_and_cookie_auth(schema):
    schemes = schema["components"]["securitySchemes"]
    kinds = {(s["type"], s.get("scheme"), s.get("in"), s.get("name")) for s in schemes.values()}
    assert ("http", "bearer", None, None) in kinds
    assert ("apiKey", None, "cookie", "access_token") in kinds


def test_schema_documents_the_filters(schema):
    def params(path: str) -> set[str]:
        return {p["name"] for p in schema["paths"][path]["get"].get("parameters", [])}

    assert {"date", "movie", "theater", "page", "page_size"} <= params("/api/v1/showtimes/")
    assert {"genre", "search", "date", "page", "page_size"} <= params("/api/v1/movies/")
    assert "date" in params("/api/v1/movies/{movie_id}/showtimes/")


def test_seat_lists_are_documented_as_plain_arrays(schema):
    ok = schema["paths"]["/api/v1/screens/{id}/seats/"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"]["type"] == "array"


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_are_served_from_our_own_static_files(api, page):
    response = api.get(page)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert not CDN_HOSTS.search(html), CDN_HOSTS.search(html)
    assert "http://" not in html
    assert "https://" not in html

    assets = assets_of(html)
    scripts = [u for u in assets if u.endswith(".js") or "script" in u]
    assert scripts, f"{page} loads no script"
    for url in assets:
        assert not url.startswith("//"), url
        assert url.startswith(("/static/", page)), url
        asset, body = fetch_fully(api, url)
        assert asset.status_code == 200, url
        assert len(body) > 100, url
    assert "/api/schema/" in html


def test_swagger_ui_loads_its_bundle_and_css(api):
    html = api.get("/api/docs/").content.decode()
    assets = assets_of(html)
    assert any(u.endswith("swagger-ui-bundle.js") for u in assets)
    assert any(u.endswith("swagger-ui.css") for u in assets)
    _, css = fetch_fully(api, next(u for u in assets if u.endswith("swagger-ui.css")))
    assert b".swagger-ui" in css


def test_redoc_loads_its_standalone_bundle(api):
    assets = assets_of(api.get("/api/redoc/").content.decode())
    bundle = next(u for u in assets if u.endswith("redoc.standalone.js"))
    response, body = fetch_fully(api, bundle)
    assert response["Content-Type"].startswith(("application/javascript", "text/javascript"))
    assert b"Redoc" in body


def test_schema_endpoint_serves_openapi_3(api):
    response = api.get("/api/schema/?format=json")
    assert json.loads(response.content)["openapi"].startswith("3.")


# --- the Markdown docs -------------------------------------------------------------------------

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]

# Spelled in pieces so that this file does not match itself.
OUTSIDE = [".." + "/shared", "shared" + "/API.md", "shared" + "/ARCHITECTURE"]
# The team's notes by their bare names (ours are docs/api.md and docs/architecture.md).
BARE_NAME = re.compile(r"(?<![\w/.-])(?:API|ARCHITECTURE)\.md\b")
# CI's own scripts live outside the project's concerns (and may name the machine's layout).
EXCLUDED_DIRS = (".ci/",)

LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(```|~~~).*?^\1\s*$", re.MULTILINE | re.DOTALL)
CODE_SPAN = re.compile(r"`[^`\n]*`")


def tracked_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    paths = [name for name in listed.split("\0") if name]
    assert paths, "git ls-files listed nothing"
    return [REPO / name for name in paths if not name.startswith(EXCLUDED_DIRS)]


def text_of(path: Path) -> str | None:
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):  # deleted in the work tree, or a submodule
        return None
    if b"\0" in data[:8192]:
        return None  # binary
    return data.decode("utf-8", errors="replace")


def test_no_tracked_file_refers_outside_the_repository():
    offenders = []
    for path in tracked_files():
        text = text_of(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if any(needle in line for needle in OUTSIDE) or BARE_NAME.search(line):
                offenders.append(f"{path.relative_to(REPO)}:{number}: {line.strip()[:120]}")
    assert not offenders, "references to files outside the repository:\n" + "\n".join(offenders)


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip()).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text())
    return {slug(m.group(1)) for m in re.finditer(r"^#{1,6}\s+(.+?)\s*#*\s*$", text, re.M)}


def relative_links(path: Path) -> list[str]:
    text = CODE_SPAN.sub("", FENCE.sub("", path.read_text()))
    return [
        target
        for target in LINK.findall(text)
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I)  # http:, https:, mailto:
    ]


def test_the_docs_exist_and_the_readme_links_them():
    readme = relative_links(REPO / "README.md")
    for name in ("docs/api.md", "docs/architecture.md"):
        assert (REPO / name).is_file(), name
        assert name in readme, f"README.md does not link {name}"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_leads_to_a_file_in_the_repository(doc):
    broken = []
    for target in relative_links(doc):
        file_part, _, anchor = target.partition("#")
        destination = (doc.parent / file_part).resolve() if file_part else doc
        if not destination.is_relative_to(REPO):
            broken.append(f"{target}: outside the repository")
        elif not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no heading #{anchor} in {destination.relative_to(REPO)}")
    assert not broken, f"{doc.relative_to(REPO)}:\n" + "\n".join(broken)
