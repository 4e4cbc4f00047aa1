"""Images uploaded in the post editor, and avatars: validated, re-encoded, stored.

An upload is accepted only if Pillow decodes it as JPEG, PNG, GIF or WebP, whatever
its name or content type claims. Its size in bytes is checked before decoding and
its size in pixels from the header, before the pixels are decoded. It is then turned
upright (EXIF orientation), converted to sRGB and re-encoded as WebP with no
metadata at all (no EXIF, GPS, ICC or XMP): the uploaded bytes are never stored.
Animated GIF, WebP and PNG keep their first frame only.

Post images are stored through the default storage under names that carry their
size, so that `image_attributes()` can give the renderer width, height and srcset
from the URL alone, with no database query and no storage call:

    uploads/<YYYY>/<MM>/<token>_<W>x<H>.webp         full size, at most 2400 px wide
    uploads/<YYYY>/<MM>/<token>_<W>x<H>-800.webp     800 px wide, only when W > 800
    uploads/<YYYY>/<MM>/<token>_<W>x<H>-1600.webp    1600 px wide, only when W > 1600

<token> is 24 random hex digits, and W and H are the full-size image's dimensions;
a variant's height is H scaled in proportion. The variants are written first and
the full-size file last, and a failed upload deletes whatever it wrote.

Avatars go through the same checks: `validate_and_reencode_avatar()`, or the
`AvatarField` form field, turns an upload into a centred 256x256 WebP crop that the
model's ImageField then stores.
"""

import errno
import logging
import math
import re
import secrets
import unicodedata
from io import BytesIO
from pathlib import PurePath

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import JsonResponse
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from PIL import ExifTags, Image, ImageCms, ImageOps

logger = logging.getLogger(__name__)

FORMATS = ["JPEG", "PNG", "GIF", "WEBP"]
MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_WIDTH = 2400
# libwebp cannot encode a side longer than this.
MAX_WEBP_SIDE = 16383
VARIANT_WIDTHS = (800, 1600)
WEBP_QUALITY = 82
AVATAR_SIZE = 256
SIZES = "(max-width: 46rem) 100vw, 46rem"

_UPLOAD_NAME = re.compile(
    r"uploads/\d{4}/\d{2}/[0-9a-f]{24}_(?P<width>[1-9]\d{0,4})x(?P<height>[1-9]\d{0,4})\.webp"
)
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
# Characters that would turn a file name into Markdown markup inside `![...]`.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>&])")
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT}


# Decoding


def open_image(uploaded_file) -> Image.Image:
    """Identify an upload from its header, checking bytes and pixels before decoding."""
    max_bytes = getattr(settings, "INKSTONE_UPLOAD_MAX_BYTES", MAX_BYTES)
    max_pixels = getattr(settings, "INKSTONE_UPLOAD_MAX_PIXELS", MAX_PIXELS)
    if not uploaded_file.size:
        raise ValidationError(_("The file is empty."), code="empty")
    if uploaded_file.size > max_bytes:
        raise ValidationError(
            _("This file is %(size)s; an image can be at most %(max)s.")
            % {
                "size": filesizeformat(uploaded_file.size),
                "max": filesizeformat(max_bytes),
            },
            code="too_large",
        )
    uploaded_file.seek(0)
    try:
        image = Image.open(uploaded_file, formats=FORMATS)
    # Pillow's own limit (Image.MAX_IMAGE_PIXELS) is far above ours and only raises
    # past about 179 Mpx; smaller images reach the check below. The warning is only
    # an exception under `-W error`: warning filters are process-wide, so changing
    # them per request would race between threads.
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValidationError(
            _("This image has too many pixels; an image can have at most %(max)s.")
            % {"max": _megapixels(max_pixels)},
            code="too_many_pixels",
        ) from exc
    except Exception as exc:
        raise ValidationError(
            _("This file is not a JPEG, PNG, GIF or WebP image."), code="not_an_image"
        ) from exc
    width, height = image.size
    if width * height > max_pixels:
        raise ValidationError(
            _(
                "This image is %(width)s×%(height)s pixels; "
                "an image can have at most %(max)s."
            )
            % {"width": width, "height": height, "max": _megapixels(max_pixels)},
            code="too_many_pixels",
        )
    return image


def decode_image(image: Image.Image, scale: float = 1.0) -> Image.Image:
    """Decode an opened image into upright sRGB, RGB or RGBA.

    `scale` is the size the caller will reduce the image to; JPEGs are then decoded
    at a fraction of their size when that is enough, which saves time and memory.
    """
    try:
        if scale < 1:
            image.draft(
                None,
                (math.ceil(image.width * scale), math.ceil(image.height * scale)),
            )
        image.load()
        ImageOps.exif_transpose(image, in_place=True)
        image = _to_srgb(image)
    # Pillow reports damaged data as OSError, SyntaxError, ValueError, EOFError,
    # struct.error and more, depending on the format and where the damage is.
    except Exception as exc:
        raise ValidationError(
            _("This image could not be read: the file is damaged or incomplete."),
            code="damaged",
        ) from exc
    return image


def _megapixels(pixels: int) -> str:
    return _("%(count)s million pixels") % {"count": f"{pixels / 1_000_000:g}"}


def _upright_size(image: Image.Image) -> tuple[int, int]:
    orientation = image.getexif().get(ExifTags.Base.Orientation)
    if orientation in (5, 6, 7, 8):
        return image.height, image.width
    return image.size


def _to_srgb(image: Image.Image) -> Image.Image:
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N"):
        image = image.convert("I").point(lambda value: value * (1 / 257)).convert("L")
    icc_profile = image.info.get("icc_profile")
    if icc_profile and image.mode in ("RGB", "RGBA", "CMYK", "L"):
        # Dropping a Display P3 or Adobe RGB profile without converting would shift
        # every colour; a profile LittleCMS cannot use is ignored instead.
        try:
            image = ImageCms.profileToProfile(
                image,
                ImageCms.ImageCmsProfile(BytesIO(icc_profile)),
                _SRGB,
                outputMode="RGBA" if image.mode == "RGBA" else "RGB",
            )
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            logger.info("Ignored an unusable ICC profile in an uploaded image.")
    if image.has_transparency_data:
        image = image.convert("RGBA")
        if image.getchannel("A").getextrema() == (255, 255):
            image = image.convert("RGB")
    elif image.mode != "RGB":
        image = image.convert("RGB")
    return image


# Encoding


def _webp(image: Image.Image) -> bytes:
    buffer = BytesIO()
    # Pillow writes EXIF, ICC and XMP into WebP only when they are passed here.
    image.save(buffer, "WEBP", quality=WEBP_QUALITY)
    return buffer.getvalue()


def _resized(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.size == size:
        return image
    return image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)


def encode_post_image(uploaded_file) -> tuple[str, dict[str, bytes]]:
    """Validate and re-encode an editor upload.

    Returns the full-size image's storage name, and {storage name: WebP bytes} for
    every file to store, full size last.
    """
    image = open_image(uploaded_file)
    upright_width, upright_height = _upright_size(image)
    scale = min(1, MAX_WIDTH / upright_width, MAX_WEBP_SIDE / upright_height)
    image = decode_image(image, scale)
    width = max(1, round(upright_width * scale))
    height = max(1, round(upright_height * scale))
    image = _resized(image, (width, height))

    token = secrets.token_hex(12)
    stem = f"{timezone.now().strftime('uploads/%Y/%m')}/{token}_{width}x{height}"
    files = {}
    for variant_width in VARIANT_WIDTHS:
        if variant_width < width:
            variant_height = max(1, round(height * variant_width / width))
            variant = _resized(image, (variant_width, variant_height))
            files[f"{stem}-{variant_width}.webp"] = _webp(variant)
    full_name = f"{stem}.webp"
    files[full_name] = _webp(image)
    return full_name, files


def validate_and_reencode_avatar(uploaded_file) -> ContentFile:
    """A centred square crop of an uploaded image as a 256x256 WebP.

    Raises ValidationError with the same messages as the editor upload.
    """
    image = open_image(uploaded_file)
    image = decode_image(image, min(1, AVATAR_SIZE / min(image.size)))
    image = ImageOps.fit(image, (AVATAR_SIZE, AVATAR_SIZE), Image.Resampling.LANCZOS)
    return ContentFile(_webp(image), name=f"{secrets.token_hex(12)}.webp")


class AvatarField(forms.FileField):
    """A form field whose cleaned value is the re-encoded avatar, ready to save."""

    def to_python(self, data):
        uploaded_file = super().to_python(data)
        if uploaded_file is None:
            return None
        return validate_and_reencode_avatar(uploaded_file)

    def widget_attrs(self, widget):
        attrs = super().widget_attrs(widget)
        if isinstance(widget, forms.FileInput) and "accept" not in widget.attrs:
            attrs["accept"] = "image/jpeg,image/png,image/gif,image/webp"
        return attrs


# Storing


def store_files(files: dict[str, bytes]) -> None:
    """Save every file through the default storage, or none of them."""
    attempted = []
    try:
        for name, content in files.items():
            # Recorded before saving, so that a half-written file is deleted too.
            # Names hold 96 random bits, so every one of them is ours to delete.
            attempted.append(name)
            saved_name = default_storage.save(name, ContentFile(content))
            if saved_name != name:
                attempted.append(saved_name)
                raise OSError(f"The storage saved {name!r} as {saved_name!r}.")
    except Exception:
        for name in reversed(attempted):
            try:
                default_storage.delete(name)
            except Exception:
                logger.exception("Could not delete %s after a failed upload.", name)
        raise


def alt_text(file_name: str) -> str:
    """Markdown alt text from an uploaded file's name, without its extension."""
    stem = unicodedata.normalize("NFC", PurePath(file_name or "").stem)
    stem = "".join(c for c in stem if unicodedata.category(c)[0] != "C")
    stem = " ".join(stem.split())[:120]
    return _MARKDOWN_SPECIAL.sub(r"\\\1", stem)


def _media_prefixes() -> tuple[str, ...]:
    """Where our uploads live: MEDIA_URL, and the storage's own base URL (S3, a CDN)."""
    storage_base = default_storage.url("x")[:-1]
    return tuple(dict.fromkeys([settings.MEDIA_URL, storage_base]))


def image_attributes(src: str) -> dict | None:
    """Width, height, srcset and sizes for an image uploaded here, from its URL alone.

    Returns None for any other URL. srcset and sizes are left out when no smaller
    variant exists.
    """
    prefix = next((p for p in _media_prefixes() if src.startswith(p)), None)
    if prefix is None:
        return None
    match = _UPLOAD_NAME.fullmatch(src[len(prefix) :])
    if match is None:
        return None
    width, height = int(match["width"]), int(match["height"])
    attributes = {"width": width, "height": height}
    variants = [w for w in VARIANT_WIDTHS if w < width]
    if variants:
        base = src.removesuffix(".webp")
        candidates = [f"{base}-{w}.webp {w}w" for w in variants]
        attributes["srcset"] = ", ".join([*candidates, f"{src} {width}w"])
        attributes["sizes"] = SIZES
    return attributes


# The editor's endpoint


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


class ImageUploadView(View):
    """django-markdownx's upload endpoint: multipart field "image" in, JSON out.

    Success is {"image_code": "![alt](url)"}; any failure is {"error": message}
    with a 4xx or 5xx status, and nothing stored.
    """

    http_method_names = ["post"]

    def dispatch(self, request, *args, **kwargs):
        # staff_member_required also wraps this view in config/urls.py.
        if not getattr(request.user, "is_author", False):
            return _error(_("Only authors can upload images."), 403)
        return super().dispatch(request, *args, **kwargs)

    def http_method_not_allowed(self, request, *args, **kwargs):
        response = _error(_("Images are uploaded with POST."), 405)
        response["Allow"] = "POST"
        return response

    def post(self, request, *args, **kwargs):
        uploaded_file = request.FILES.get("image")
        if uploaded_file is None:
            return _error(_("No image was uploaded."), 400)
        try:
            full_name, files = encode_post_image(uploaded_file)
        except ValidationError as exc:
            return _error(exc.messages[0], 400)
        try:
            store_files(files)
        except Exception as exc:
            if getattr(exc, "errno", None) in _DISK_FULL:
                logger.error("Disk full while storing an uploaded image: %s", exc)
                message = _(
                    "The server has no space left to store this image. "
                    "Nothing was saved."
                )
                return _error(message, 507)
            logger.exception("Could not store an uploaded image.")
            message = _(
                "The image could not be stored right now. "
                "Nothing was saved; please try again later."
            )
            return _error(message, 503)
        url = default_storage.url(full_name)
        alt = alt_text(uploaded_file.name)
        return JsonResponse({"image_code": f"![{alt}]({url})"})
