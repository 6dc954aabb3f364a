"""Posters are served by the application itself, DEBUG or not (boxoffice.core.media): the
image's bytes and type with caching headers, and nothing outside MEDIA_ROOT. The production
server form (scripts/serve, DJANGO_DEBUG=0) is tested in tests/live/test_media_serve.py."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .test_posters import image_bytes, put_poster, upload

pytestmark = pytest.mark.django_db


def fetch(client, method: str, path: str, **headers: str):  # type: ignore[no-untyped-def]
    """The response, its body read and its file closed (a file response holds it open)."""
    response = getattr(client, method)(path, **headers)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    response.close()
    return response, body


@pytest.fixture
def media_root(settings, tmp_path) -> Path:  # type: ignore[no-untyped-def]
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


@pytest.fixture
def poster(admin_api, movie, media_root) -> tuple[str, bytes]:  # type: ignore[no-untyped-def]
    """(the poster's URL path, its bytes), uploaded through the API."""
    content = image_bytes("PNG")
    response = put_poster(admin_api, movie, upload("poster.png", content))
    assert response.status_code == 200, response.content
    return urlsplit(response.json()["poster"]).path, content


def test_the_poster_url_answers_the_image_with_caching_headers(api, poster, settings):
    assert not settings.DEBUG  # as in production
    path, content = poster
    response, body = fetch(api, "get", path)

    assert response.status_code == 200
    assert body == content
    assert response["Content-Type"] == "image/png"
    assert response["Content-Length"] == str(len(content))
    assert response["Cache-Control"] == "public, max-age=3600"
    assert response["ETag"].startswith('"')
    assert response["Last-Modified"].endswith(" GMT")

    head, _ = fetch(api, "head", path)
    assert head.status_code == 200
    assert head["Content-Type"] == "image/png"

    again, _ = fetch(api, "get", path, HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    assert again["ETag"] == response["ETag"]
    assert again["Cache-Control"] == "public, max-age=3600"
    since = response["Last-Modified"]
    assert fetch(api, "get", path, HTTP_IF_MODIFIED_SINCE=since)[0].status_code == 304
    assert fetch(api, "get", path, HTTP_IF_NONE_MATCH='"other"')[0].status_code == 200


def test_the_cache_lifetime_is_a_setting(api, poster, settings):
    settings.MEDIA_CACHE_SECONDS = 60
    assert fetch(api, "get", poster[0])[0]["Cache-Control"] == "public, max-age=60"


def test_only_reads_are_allowed(api, admin_api, poster):
    assert api.post(poster[0]).status_code == 405
    assert admin_api.delete(poster[0]).status_code == 405


def test_nothing_outside_media_root_and_nothing_but_images(api, media_root, tmp_path):
    secret = tmp_path / "secret.png"
    secret.write_bytes(image_bytes("PNG"))  # beside MEDIA_ROOT, not in it
    (media_root / "posters").mkdir()
    (media_root / "posters" / "link.png").symlink_to(secret)
    (media_root / "posters" / "page.html").write_text("<script>alert(1)</script>")
    (media_root / "posters" / "dir.png").mkdir()

    for path in [
        "/media/../secret.png",
        "/media/%2e%2e/secret.png",
        "/media/posters/%2e%2e/%2e%2e/secret.png",
        "/media/..%2fsecret.png",
        "/media/%2fetc%2fpasswd",
        f"/media/{secret}",
        "/media/posters/link.png",  # a link leading out of MEDIA_ROOT
        "/media/posters/page.html",  # not an image
        "/media/posters/dir.png",  # a directory
        "/media/posters/missing.png",
        "/media/posters/",
    ]:
        response, _ = fetch(api, "get", path)
        assert response.status_code == 404, path
        assert response["Content-Type"] == "application/json", path


def test_media_serve_off_leaves_media_to_a_server_in_front(settings):
    from boxoffice.core import media

    assert [p.name for p in media.urlpatterns()] == ["media"]
    settings.MEDIA_SERVE = False
    assert media.urlpatterns() == []
    settings.MEDIA_SERVE = True
    settings.MEDIA_URL = "https://cdn.example.com/media/"
    assert media.urlpatterns() == []
