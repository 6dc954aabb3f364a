"""Posters in production: ``scripts/serve`` with DJANGO_DEBUG=0 serves an uploaded poster at the
URL the API gives for it (boxoffice.core.media), with its type and caching headers, and nothing
outside MEDIA_ROOT."""

from __future__ import annotations

import pytest
import requests

from tests.catalog.test_posters import image_bytes, put_poster, upload
from tests.live.server import Server, server_env
from tests.live.test_serve import _database_url
from tests.support.net import free_port

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_production_server_serves_posters(admin_api, movie, settings, tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    settings.MEDIA_ROOT = str(media)
    content = image_bytes("JPEG")
    uploaded = put_poster(admin_api, movie, upload("poster.jpg", content, "image/jpeg"))
    assert uploaded.status_code == 200, uploaded.content
    (tmp_path / "secret.jpg").write_bytes(content)  # beside MEDIA_ROOT, not in it

    env = server_env(
        _database_url(tmp_path),
        HOST="127.0.0.1",
        PORT=str(free_port()),
        WEB_CONCURRENCY="1",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY="media-test-" + "x" * 50,
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_SECURE_SSL_REDIRECT="0",
        EMAIL_URL="smtp://127.0.0.1:25",
        MEDIA_ROOT=str(media),
    )
    server = Server(env, tmp_path / "serve.log")
    try:
        server.wait_ready(1)
        read = requests.get(f"{server.url}/api/v1/movies/{movie.pk}/", timeout=10)
        assert read.status_code == 200, read.text
        url = read.json()["poster"]
        assert url.startswith(f"{server.url}/media/posters/")

        poster = requests.get(url, timeout=10)
        assert poster.status_code == 200, poster.text
        assert poster.content == content
        assert poster.headers["Content-Type"] == "image/jpeg"
        assert poster.headers["Cache-Control"] == "public, max-age=3600"
        assert poster.headers["Last-Modified"]
        etag = poster.headers["ETag"]
        again = requests.get(url, headers={"If-None-Match": etag}, timeout=10)
        assert again.status_code == 304
        assert again.content == b""

        with requests.Session() as session:  # the path as sent, not normalised by the client
            prepared = requests.Request("GET", f"{server.url}/media/../secret.jpg").prepare()
            prepared.url = f"{server.url}/media/%2e%2e/secret.jpg"
            assert session.send(prepared, timeout=10).status_code == 404
    finally:
        server.stop()
