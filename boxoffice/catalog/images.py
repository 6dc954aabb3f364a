"""Poster validation with Pillow: what is uploaded must really be a small enough image.

Checks, in order: the byte size (POSTER_MAX_BYTES), that Pillow recognises a JPEG, PNG or WebP
(the file's content decides, not its name), and the pixel count (POSTER_MAX_PIXELS), which
refuses decompression bombs before any pixel is decoded.
"""

from __future__ import annotations

import warnings

from django.conf import settings
from django.core.exceptions import ValidationError
from PIL import Image, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}


def validate_poster(upload) -> None:
    max_bytes = settings.POSTER_MAX_BYTES
    if upload.size is not None and upload.size > max_bytes:
        raise ValidationError(
            f"The poster is {upload.size} bytes; the limit is {max_bytes} bytes.", code="too_large"
        )
    position = upload.tell() if hasattr(upload, "tell") else 0
    try:
        with warnings.catch_warnings():
            # Pillow warns (DecompressionBombWarning) between 1x and 2x its own limit; our own
            # pixel limit below is the rule, so the warning is noise here.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(upload) as image:
                fmt = image.format
                width, height = image.size
                if fmt not in ALLOWED_FORMATS:
                    raise ValidationError(
                        f"Posters must be JPEG, PNG or WebP, not {fmt}.", code="invalid_image_type"
                    )
                if width * height > settings.POSTER_MAX_PIXELS:
                    raise ValidationError(
                        f"The poster is {width}x{height} pixels; the limit is "
                        f"{settings.POSTER_MAX_PIXELS} pixels.",
                        code="too_many_pixels",
                    )
                image.verify()
    except ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError) as exc:
        raise ValidationError("The file is not a valid image.", code="invalid_image") from exc
    finally:
        if hasattr(upload, "seek"):
            upload.seek(position)
