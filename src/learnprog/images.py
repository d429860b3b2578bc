"""Reading an image's size, for the program banner check (guide, "Settings": BANNER IMAGE).

Pillow reads the size from the file's header; the pixels are not decoded. It is imported on
the first call, not with learnprog.
"""

from __future__ import annotations

import io
import os
from typing import BinaryIO

from learnprog.errors import ValidationError

ImageSource = str | os.PathLike[str] | bytes | BinaryIO
"""An image file: a path, its bytes, or a binary file object."""

BANNER_SIZE = (960, 300)
"""The banner size that "will look best", in pixels (width, height): guide, "Settings"."""


def image_size(source: ImageSource, *, field: str = "image") -> tuple[int, int]:
    """Return an image's (width, height) in pixels.

    Args:
        source: a path, the image's bytes, or a binary file object (read from where it is).
        field: the argument named in errors.

    Raises:
        ValidationError: the file cannot be opened, or is not an image Pillow can read.
    """
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    elif not isinstance(source, str | os.PathLike) and not hasattr(source, "read"):
        raise ValidationError(
            f"an image is a path, bytes or a binary file, not {type(source).__name__}",
            field=field,
        )
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(source) as image:
            width, height = image.size
    except UnidentifiedImageError as exc:
        raise ValidationError("not an image that can be read", field=field) from exc
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ValidationError(f"the image cannot be read: {exc}", field=field) from exc
    return width, height
