"""Poster uploads: a real image of an allowed type, size and pixel count, or 400."""

from __future__ import annotations

import io
from functools import cache

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from boxoffice.catalog.models import Movie

pytestmark = pytest.mark.django_db


def image_bytes(fmt: str, size: tuple[int, int] = (60, 90), mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, "red" if mode == "RGB" else 1).save(buffer, format=fmt)
    return buffer.getvalue()


@cache
def bomb_png() -> bytes:
    """A 1-bit 20000x20000 PNG: about 50 KB on disk, 400 million pixels once decoded."""
    return image_bytes("PNG", (20000, 20000), mode="1")


def upload(name: str, content: bytes, content_type: str = "image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def put_poster(client, movie: Movie, file: SimpleUploadedFile):
    return client.put(f"/api/v1/movies/{movie.id}/poster/", {"poster": file}, format="multipart")


def assert_poster_refused(response, movie: Movie) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["type"] == "validation_error"
    assert body["errors"][0]["attr"] == "poster"
    movie.refresh_from_db()
    assert not movie.poster


@pytest.mark.parametrize(("fmt", "ext"), [("PNG", "png"), ("JPEG", "jpg"), ("WEBP", "webp")])
def test_real_image_upload_is_stored_and_read_back_as_url(admin_api, api, movie, fmt, ext):
    content = image_bytes(fmt)
    response = put_poster(admin_api, movie, upload(f"poster.{ext}", content, f"image/{ext}"))
    assert response.status_code == 200, response.content
    url = response.json()["poster"]
    assert url.startswith("http://testserver/media/posters/")
    assert url.endswith(f".{ext}")

    movie.refresh_from_db()
    with movie.poster.open("rb") as stored:
        assert stored.read() == content
    read = api.get(f"/api/v1/movies/{movie.id}/").json()
    assert read["poster"] == url
    assert api.get("/api/v1/movies/").json()["results"][0]["poster"] == url


def test_a_new_movie_is_json_and_its_poster_a_multipart_upload(admin_api, movie):
    """Every body is JSON but the poster's: movies are created as JSON (a multipart movie is a
    415), then the poster is uploaded to its own endpoint, and can be removed there."""
    genre = movie.genres.get()
    fields = {"title": "Sunrise", "duration_minutes": 94, "genres": [genre.id]}
    refused = admin_api.post(
        "/api/v1/movies/",
        {**fields, "poster": upload("sunrise.png", image_bytes("PNG"))},
        format="multipart",
    )
    assert refused.status_code == 415
    created = admin_api.post("/api/v1/movies/", fields, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["poster"] is None
    sunrise = Movie.objects.get(pk=created.json()["id"])

    response = put_poster(admin_api, sunrise, upload("sunrise.png", image_bytes("PNG")))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["poster"].endswith(".png")
    assert body["genres"] == [{"id": genre.id, "name": "Drama", "slug": "drama"}]

    removed = admin_api.delete(f"/api/v1/movies/{sunrise.id}/poster/")
    assert removed.status_code == 200
    assert removed.json()["poster"] is None
    sunrise.refresh_from_db()
    assert not sunrise.poster


def test_text_file_named_png_is_refused(admin_api, movie):
    fake = upload("poster.png", b"this is not an image at all\n" * 10)
    assert_poster_refused(put_poster(admin_api, movie, fake), movie)


def test_gif_renamed_png_is_refused(admin_api, movie):
    gif = image_bytes("GIF")
    assert gif.startswith(b"GIF8")
    assert_poster_refused(put_poster(admin_api, movie, upload("poster.png", gif)), movie)


def test_truncated_png_is_refused(admin_api, movie):
    content = image_bytes("PNG", (200, 200))
    assert_poster_refused(put_poster(admin_api, movie, upload("poster.png", content[:-40])), movie)


def test_oversize_upload_is_refused(admin_api, movie, settings):
    content = image_bytes("PNG", (200, 200))
    settings.POSTER_MAX_BYTES = len(content) - 1
    assert_poster_refused(put_poster(admin_api, movie, upload("poster.png", content)), movie)
    # the same file is fine once the limit allows it
    settings.POSTER_MAX_BYTES = len(content)
    assert put_poster(admin_api, movie, upload("poster.png", content)).status_code == 200


def test_decompression_bomb_is_refused(admin_api, movie):
    content = bomb_png()
    assert len(content) < 100_000  # tiny on disk, so only the pixel check can catch it
    assert_poster_refused(put_poster(admin_api, movie, upload("poster.png", content)), movie)


def test_pixel_limit_is_our_setting(admin_api, movie, settings):
    """A 6000x6000 image is below Pillow's own bomb limit; our POSTER_MAX_PIXELS decides."""
    content = image_bytes("PNG", (6000, 6000), mode="1")
    settings.POSTER_MAX_PIXELS = 6000 * 6000 - 1
    assert_poster_refused(put_poster(admin_api, movie, upload("poster.png", content)), movie)
    settings.POSTER_MAX_PIXELS = 6000 * 6000
    assert put_poster(admin_api, movie, upload("poster.png", content)).status_code == 200


def test_customer_cannot_upload_a_poster(customer_api, movie):
    response = put_poster(customer_api, movie, upload("poster.png", image_bytes("PNG")))
    assert response.status_code == 403
    movie.refresh_from_db()
    assert not movie.poster
