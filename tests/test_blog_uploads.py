import errno
import io
import os
import re
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import ExifTags, Image, ImageCms, ImageFile

from blog.markdown import render
from blog.uploads import AvatarField, image_attributes, validate_and_reencode_avatar

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.urls_uploads")]

XHR = {"x-requested-with": "XMLHttpRequest"}
RED, BLUE = (220, 20, 20), (20, 20, 220)
STORED_NAME = re.compile(
    r"uploads/\d{4}/\d{2}/[0-9a-f]{24}_(\d+)x(\d+)(-800|-1600)?\.webp"
)
IMAGE_CODE = re.compile(r"!\[(?P<alt>.*)\]\((?P<url>/media/[^)]+)\)")

NOT_AN_IMAGE = "This file is not a JPEG, PNG, GIF or WebP image."
DAMAGED = "This image could not be read: the file is damaged or incomplete."
EMPTY = "The file is empty."


# Helpers


def image_bytes(fmt, size=(40, 30), mode="RGB", color=RED, **options) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, fmt, **options)
    return buffer.getvalue()


def two_colour_jpeg(size, **options) -> bytes:
    """Left half red, right half blue."""
    image = Image.new("RGB", size, RED)
    image.paste(BLUE, (size[0] // 2, 0, size[0], size[1]))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95, **options)
    return buffer.getvalue()


def png_bomb(width, height) -> bytes:
    """A black 1-bit PNG of the given size, about 100 KB for 30000x30000."""

    def chunk(kind, data):
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    compressor = zlib.compressobj(9)
    rows = b"\0" * ((1 + (width + 7) // 8) * 1000)
    idat = b"".join(compressor.compress(rows) for _ in range(height // 1000))
    idat += compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )


def post_image(client, content, name="picture.png", url_name="markdownx_upload"):
    upload = SimpleUploadedFile(name, content, content_type="image/png")
    return client.post(reverse(url_name), {"image": upload}, headers=XHR)


def stored_files(settings) -> dict[str, bytes]:
    root = Path(settings.MEDIA_ROOT)
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file()
    }


def webp_chunks(data: bytes) -> list[bytes]:
    assert data[:4] == b"RIFF"
    assert data[8:12] == b"WEBP"
    kinds, offset = [], 12
    while offset < len(data):
        kinds.append(data[offset : offset + 4])
        length = int.from_bytes(data[offset + 4 : offset + 8], "little")
        offset += 8 + length + (length & 1)
    return kinds


def assert_clean_webp(data: bytes) -> Image.Image:
    """A WebP with no EXIF, ICC or XMP, decoded."""
    assert not {b"EXIF", b"ICCP", b"XMP "} & set(webp_chunks(data))
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "WEBP"
    assert not image.getexif()
    assert not {"exif", "icc_profile", "xmp"} & set(image.info)
    return image


def uploaded_url(response) -> str:
    assert response.status_code == 200, response.content
    match = IMAGE_CODE.fullmatch(response.json()["image_code"])
    assert match, response.json()
    return match["url"]


def assert_refused(response, settings, message, status=400):
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": message}
    assert stored_files(settings) == {}


def close_to(pixel, colour, tolerance=40):
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, colour, strict=False))


# Accepted images


@pytest.mark.parametrize(
    ("fmt", "options"),
    [
        ("JPEG", {"quality": 95}),
        ("PNG", {}),
        ("GIF", {}),
        ("WEBP", {"lossless": True}),
    ],
)
def test_jpeg_png_gif_and_webp_are_stored_reencoded_as_webp(
    staff_client, settings, fmt, options
):
    content = image_bytes(fmt, size=(1000, 500), **options)
    response = post_image(staff_client, content, name="screenshot 2026-11-28.png")

    url = uploaded_url(response)
    assert response.json()["image_code"].startswith("![screenshot 2026-11-28](")
    files = stored_files(settings)
    full_name = url.removeprefix(settings.MEDIA_URL)
    assert sorted(files) == sorted([full_name, full_name.replace(".webp", "-800.webp")])
    assert re.fullmatch(r"uploads/\d{4}/\d{2}/[0-9a-f]{24}_1000x500\.webp", full_name)
    for name, data in files.items():
        assert data != content
        image = assert_clean_webp(data)
        assert image.mode == "RGB"
        assert image.size == ((800, 400) if name.endswith("-800.webp") else (1000, 500))
        assert close_to(image.getpixel((10, 10)), RED)


def test_png_with_alpha_keeps_its_transparency(staff_client, settings):
    image = Image.new("RGBA", (300, 200), (0, 0, 0, 0))
    image.paste((20, 160, 60, 255), (0, 0, 150, 200))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")

    url = uploaded_url(post_image(staff_client, buffer.getvalue()))

    stored = assert_clean_webp(stored_files(settings)[url.removeprefix("/media/")])
    assert stored.mode == "RGBA"
    assert stored.getpixel((250, 100))[3] == 0
    assert close_to(stored.getpixel((50, 100)), (20, 160, 60, 255))


def test_opaque_rgba_png_is_stored_without_an_alpha_channel(staff_client, settings):
    content = image_bytes("PNG", mode="RGBA", color=(*RED, 255))
    url = uploaded_url(post_image(staff_client, content))
    data = stored_files(settings)[url.removeprefix("/media/")]
    assert assert_clean_webp(data).mode == "RGB"
    assert b"ALPH" not in webp_chunks(data)


@pytest.mark.parametrize(
    ("size", "stored_size", "variants"),
    [
        ((700, 300), (700, 300), []),
        ((800, 300), (800, 300), []),
        ((1200, 600), (1200, 600), [(800, 400)]),
        ((2000, 1000), (2000, 1000), [(800, 400), (1600, 800)]),
        ((3000, 1500), (2400, 1200), [(800, 400), (1600, 800)]),
        ((100, 20000), (82, 16383), []),
    ],
)
def test_full_size_is_capped_and_variants_exist_only_below_its_width(
    staff_client, settings, size, stored_size, variants
):
    url = uploaded_url(post_image(staff_client, image_bytes("PNG", size=size)))

    files = stored_files(settings)
    full_name = url.removeprefix("/media/")
    assert full_name.endswith(f"_{stored_size[0]}x{stored_size[1]}.webp")
    assert Image.open(io.BytesIO(files.pop(full_name))).size == stored_size
    assert sorted(Image.open(io.BytesIO(data)).size for data in files.values()) == (
        variants
    )
    for name in files:
        assert STORED_NAME.fullmatch(name)
        assert name.startswith(full_name.removesuffix(".webp"))


def test_jpeg_is_turned_upright_and_loses_exif_and_gps(staff_client, settings):
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "N",
        ExifTags.GPS.GPSLatitude: (52.0, 31.0, 12.0),
        ExifTags.GPS.GPSLongitudeRef: "E",
        ExifTags.GPS.GPSLongitude: (13.0, 24.0, 36.0),
    }
    content = two_colour_jpeg((400, 200), exif=exif)
    assert Image.open(io.BytesIO(content)).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    url = uploaded_url(post_image(staff_client, content, name="IMG_0001.JPG"))

    assert url.endswith("_200x400.webp")
    data = stored_files(settings)[url.removeprefix("/media/")]
    assert b"PhoneCo" not in data
    stored = assert_clean_webp(data)
    assert stored.size == (200, 400)
    # Orientation 6 is a quarter turn clockwise: the left half becomes the top.
    assert close_to(stored.getpixel((100, 50)), RED)
    assert close_to(stored.getpixel((100, 350)), BLUE)


def test_icc_profile_is_not_stored(staff_client, settings):
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    content = image_bytes("PNG", color=RED, icc_profile=srgb)
    assert Image.open(io.BytesIO(content)).info["icc_profile"]

    url = uploaded_url(post_image(staff_client, content))

    stored = assert_clean_webp(stored_files(settings)[url.removeprefix("/media/")])
    assert close_to(stored.getpixel((5, 5)), RED)


def test_animated_gif_keeps_only_its_first_frame(staff_client, settings):
    frames = [Image.new("RGB", (60, 40), colour) for colour in (RED, BLUE)]
    buffer = io.BytesIO()
    frames[0].save(
        buffer, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0
    )

    url = uploaded_url(post_image(staff_client, buffer.getvalue(), name="demo.gif"))

    stored = assert_clean_webp(stored_files(settings)[url.removeprefix("/media/")])
    assert getattr(stored, "n_frames", 1) == 1
    assert close_to(stored.getpixel((30, 20)), RED)


@pytest.mark.parametrize(
    ("content", "colour"),
    [
        (image_bytes("JPEG", mode="CMYK", color=(0, 255, 255, 0)), (237, 28, 36)),
        (image_bytes("PNG", mode="I;16", color=40000), (155, 155, 155)),
        (image_bytes("PNG", mode="P", color=3), (3, 3, 3)),
        (image_bytes("PNG", mode="LA", color=(90, 255)), (90, 90, 90)),
    ],
    ids=["cmyk-jpeg", "16-bit-png", "palette-png", "grey-alpha-png"],
)
def test_other_pixel_modes_are_stored_as_rgb(staff_client, settings, content, colour):
    url = uploaded_url(post_image(staff_client, content))
    stored = assert_clean_webp(stored_files(settings)[url.removeprefix("/media/")])
    assert stored.mode == "RGB"
    assert close_to(stored.getpixel((5, 5)), colour, tolerance=45)


def test_multi_picture_jpeg_from_a_phone_is_accepted(staff_client, settings):
    buffer = io.BytesIO()
    Image.new("RGB", (50, 40), RED).save(
        buffer, "MPO", save_all=True, append_images=[Image.new("RGB", (50, 40))]
    )
    url = uploaded_url(post_image(staff_client, buffer.getvalue(), name="p.jpg"))
    assert url.endswith("_50x40.webp")


def test_stored_name_and_alt_text_never_carry_markup_from_the_file_name(
    staff_client, settings
):
    name = "../../x](javascript:alert(1)) <b>*bold*_x_ `c` &.html.png"
    response = post_image(staff_client, image_bytes("PNG"), name=name)

    url = uploaded_url(response)
    assert STORED_NAME.fullmatch(url.removeprefix("/media/"))
    assert response.json()["image_code"] == (
        r"![x\](javascript:alert(1)) \<b\>\*bold\*\_x\_ \`c\` \&.html]" f"({url})"
    )
    assert list(stored_files(settings)) == [url.removeprefix("/media/")]
    html = render(response.json()["image_code"]).html
    assert html.count("<img") == 1
    assert f'src="{url}"' in html
    assert "<a" not in html
    assert "<b>" not in html


# Refused uploads


def test_svg_is_refused(staff_client, settings):
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
    response = post_image(staff_client, svg, name="logo.svg")
    assert_refused(response, settings, NOT_AN_IMAGE)


def test_svg_with_script_is_refused(staff_client, settings):
    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
        b"<script>alert(document.cookie)</script></svg>"
    )
    response = post_image(staff_client, svg, name="logo.svg")
    assert_refused(response, settings, NOT_AN_IMAGE)


def test_html_named_png_is_refused(staff_client, settings):
    html = b"<!doctype html><script>alert(document.cookie)</script>"
    response = post_image(staff_client, html, name="photo.png")
    assert_refused(response, settings, NOT_AN_IMAGE)


def test_gif_header_followed_by_javascript_is_refused(staff_client, settings):
    polyglot = b"GIF89a/*\x00\x00\x00\x00*/=alert(document.domain);//" + b"\x00" * 64
    response = post_image(staff_client, polyglot, name="x.gif")
    assert_refused(response, settings, NOT_AN_IMAGE)


def test_valid_gif_carrying_javascript_is_reencoded_without_it(staff_client, settings):
    script = b"*/=alert(document.domain);/*"
    gif = image_bytes("GIF", size=(20, 20), comment=script) + b"\n" + script
    assert Image.open(io.BytesIO(gif)).info["comment"] == script

    url = uploaded_url(post_image(staff_client, gif, name="x.gif"))

    for data in stored_files(settings).values():
        assert b"alert" not in data
        assert_clean_webp(data)
    assert url.endswith(".webp")


def test_truncated_jpeg_is_refused(staff_client, settings):
    content = two_colour_jpeg((400, 300))
    response = post_image(staff_client, content[: len(content) * 2 // 3], "cut.jpg")
    assert_refused(response, settings, DAMAGED)


def test_jpeg_cut_inside_its_header_is_refused(staff_client, settings):
    response = post_image(staff_client, two_colour_jpeg((400, 300))[:40], "cut.jpg")
    assert_refused(response, settings, NOT_AN_IMAGE)


def test_zero_byte_file_is_refused(staff_client, settings):
    assert_refused(post_image(staff_client, b"", "empty.png"), settings, EMPTY)


def test_random_bytes_are_refused(staff_client, settings):
    response = post_image(staff_client, os.urandom(4096), "noise.webp")
    assert_refused(response, settings, NOT_AN_IMAGE)


def test_decompression_bomb_is_refused_quickly(staff_client, settings):
    bomb = png_bomb(30000, 30000)
    assert len(bomb) < 200_000

    started = time.perf_counter()
    response = post_image(staff_client, bomb, name="bomb.png")
    elapsed = time.perf_counter() - started

    assert_refused(
        response,
        settings,
        "This image has too many pixels; an image can have at most 40 million pixels.",
    )
    assert elapsed < 5


# Run as a gunicorn worker runs the app: config.wsgi loaded first.
TWO_LARGE_UPLOADS_AT_ONCE = """
import io, threading
import config.wsgi
from config.memory import return_large_allocations
from PIL import Image
from django.core.files.uploadedfile import SimpleUploadedFile
from blog.uploads import encode_post_image

def rss_mb():
    status = open("/proc/self/status").read()
    return int(status.split("VmRSS:")[1].split()[0]) // 1024

buffer = io.BytesIO()
Image.linear_gradient("L").resize((8000, 5000)).convert("RGB").save(buffer, "PNG")
upload = buffer.getvalue()
before = rss_mb()
threads = [
    threading.Thread(target=encode_post_image, args=[SimpleUploadedFile("a.png", upload)])
    for _ in range(2)
]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(return_large_allocations(), rss_mb() - before)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc")
def test_a_worker_gives_back_the_memory_of_large_uploads():
    """Without it, two 40 Mpx PNGs re-encoded at once left the process 307 MB larger."""
    result = subprocess.run(
        [sys.executable, "-c", TWO_LARGE_UPLOADS_AT_ONCE],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    applies, growth_mb = result.stdout.split()
    if applies != "True":
        pytest.skip("the C library has no mallopt")
    assert int(growth_mb) < 60


def test_pixel_limit_is_checked_before_decoding(staff_client, settings, monkeypatch):
    def must_not_decode(image):
        raise AssertionError("decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", must_not_decode)
    response = post_image(staff_client, png_bomb(9000, 9000), name="big.png")
    assert_refused(
        response,
        settings,
        "This image is 9000×9000 pixels; an image can have at most 40 million pixels.",
    )


def test_pixel_limit_comes_from_settings(staff_client, settings):
    settings.INKSTONE_UPLOAD_MAX_PIXELS = 1_500_000
    response = post_image(staff_client, image_bytes("PNG", size=(1500, 1001)))
    assert_refused(
        response,
        settings,
        "This image is 1500×1001 pixels; an image can have at most 1.5 million pixels.",
    )


def test_oversize_file_is_refused_before_decoding(staff_client, settings, monkeypatch):
    settings.INKSTONE_UPLOAD_MAX_BYTES = 1000

    def must_not_open(*args, **kwargs):
        raise AssertionError("opened")

    monkeypatch.setattr(Image, "open", must_not_open)
    response = post_image(staff_client, b"\x89PNG" + b"\0" * 2000, name="big.png")
    assert_refused(
        response,
        settings,
        "This file is 2.0\xa0KB; an image can be at most 1000\xa0bytes.",
    )


def test_missing_image_field_is_refused(staff_client, settings):
    response = staff_client.post(reverse("markdownx_upload"), {}, headers=XHR)
    assert_refused(response, settings, "No image was uploaded.")


# Who may upload


def test_anonymous_upload_is_redirected_to_login(client, settings):
    response = post_image(client, image_bytes("PNG"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert stored_files(settings) == {}


def test_anonymous_upload_is_refused_by_the_view_itself(client, settings):
    response = post_image(client, image_bytes("PNG"), url_name="unwrapped_upload")
    assert_refused(response, settings, "Only authors can upload images.", 403)


def test_non_staff_upload_is_refused(client, user, settings):
    client.force_login(user)
    assert post_image(client, image_bytes("PNG")).status_code == 302
    response = post_image(client, image_bytes("PNG"), url_name="unwrapped_upload")
    assert_refused(response, settings, "Only authors can upload images.", 403)


def test_get_is_not_allowed(staff_client, settings):
    response = staff_client.get(reverse("markdownx_upload"))
    assert_refused(response, settings, "Images are uploaded with POST.", 405)
    assert response["Allow"] == "POST"


# Storage failures


class DiskFullStorage(FileSystemStorage):
    """Writes half of the second file, then fails as a full disk does."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.attempts = []

    def _save(self, name, content):
        self.attempts.append(name)
        if len(self.attempts) == 2:
            path = Path(self.path(name))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content.read()[: content.size // 2])
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return super()._save(name, content)


class UnreachableStorage(FileSystemStorage):
    def __init__(self, error, **kwargs):
        super().__init__(**kwargs)
        self.error = error

    def _save(self, name, content):
        raise {
            "connection": ConnectionRefusedError(errno.ECONNREFUSED, "Refused"),
            "runtime": RuntimeError("The bucket is gone"),
        }[self.error]


def test_full_disk_is_507_and_leaves_no_partial_files(staff_client, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "tests.test_blog_uploads.DiskFullStorage"},
    }
    from django.core.files.storage import default_storage

    response = post_image(staff_client, image_bytes("PNG", size=(2000, 1000)))

    # The 800 px variant was written and the 1600 px one half written.
    first, second = default_storage.attempts
    assert first.endswith("_2000x1000-800.webp")
    assert second.endswith("_2000x1000-1600.webp")
    assert_refused(
        response,
        settings,
        "The server has no space left to store this image. Nothing was saved.",
        507,
    )


@pytest.mark.parametrize("error", ["connection", "runtime"])
def test_unavailable_storage_is_503(staff_client, settings, error):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "tests.test_blog_uploads.UnreachableStorage",
            "OPTIONS": {"error": error},
        },
    }
    response = post_image(staff_client, image_bytes("PNG"))
    assert_refused(
        response,
        settings,
        "The image could not be stored right now. "
        "Nothing was saved; please try again later.",
        503,
    )


# image_attributes()


def test_image_attributes_describe_every_stored_variant(staff_client, settings):
    url = uploaded_url(post_image(staff_client, image_bytes("PNG", size=(3000, 2000))))

    attributes = image_attributes(url)

    assert attributes == {
        "width": 2400,
        "height": 1600,
        "srcset": (
            f"{url.removesuffix('.webp')}-800.webp 800w, "
            f"{url.removesuffix('.webp')}-1600.webp 1600w, {url} 2400w"
        ),
        "sizes": "(max-width: 46rem) 100vw, 46rem",
    }
    for candidate in attributes["srcset"].split(", "):
        candidate_url, width = candidate.split()
        path = settings.MEDIA_ROOT / candidate_url.removeprefix("/media/")
        assert Image.open(path).width == int(width.removesuffix("w"))


def test_image_attributes_of_a_small_image_have_no_srcset():
    url = "/media/uploads/2026/11/0123456789abcdef01234567_640x480.webp"
    assert image_attributes(url) == {"width": 640, "height": 480}


def test_image_attributes_of_a_medium_image_list_the_800_variant():
    url = "/media/uploads/2026/11/0123456789abcdef01234567_1200x900.webp"
    assert image_attributes(url)["srcset"] == (
        "/media/uploads/2026/11/0123456789abcdef01234567_1200x900-800.webp 800w, "
        f"{url} 1200w"
    )


def test_image_attributes_follow_an_absolute_media_url(staff_client, settings):
    settings.MEDIA_URL = "https://cdn.example.com/media/"
    response = post_image(staff_client, image_bytes("PNG", size=(900, 600)))
    url = response.json()["image_code"].split("](")[1].removesuffix(")")

    assert url.startswith("https://cdn.example.com/media/uploads/")
    assert image_attributes(url)["srcset"].endswith(f"-800.webp 800w, {url} 900w")


@pytest.mark.parametrize(
    "src",
    [
        "https://elsewhere.example/media/uploads/2026/11/0123456789abcdef01234567_900x600.webp",
        "/static/uploads/2026/11/0123456789abcdef01234567_900x600.webp",
        "/media/uploads/2026/11/0123456789abcdef01234567_900x600-800.webp",
        "/media/uploads/2026/11/0123456789abcdef01234567_900x600.webp?v=2",
        "/media/uploads/2026/11/0123456789abcdef01234567_900x600.png",
        "/media/uploads/2026/11/../../../0123456789abcdef01234567_900x600.webp",
        "/media/uploads/2026/11/cat_900x600.webp",
        "/media/uploads/2026/11/0123456789abcdef01234567_0x600.webp",
        "/media/avatars/0123456789abcdef01234567.webp",
        "data:image/webp;base64,AAAA",
        "",
    ],
)
def test_image_attributes_ignore_other_urls(src):
    assert image_attributes(src) is None


# Avatars


def test_avatar_is_a_centred_256_pixel_square_webp():
    image = Image.new("RGB", (300, 100), BLUE)
    image.paste(RED, (100, 0, 200, 100))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")

    avatar = validate_and_reencode_avatar(
        SimpleUploadedFile("me.png", buffer.getvalue())
    )

    assert re.fullmatch(r"[0-9a-f]{24}\.webp", avatar.name)
    stored = assert_clean_webp(avatar.read())
    assert stored.size == (256, 256)
    assert close_to(stored.getpixel((3, 3)), RED)
    assert close_to(stored.getpixel((252, 252)), RED)


def test_avatar_is_turned_upright():
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    content = two_colour_jpeg((512, 512), exif=exif)

    avatar = validate_and_reencode_avatar(SimpleUploadedFile("me.jpg", content))

    stored = Image.open(avatar)
    assert close_to(stored.getpixel((128, 20)), RED)
    assert close_to(stored.getpixel((128, 236)), BLUE)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'<svg xmlns="http://www.w3.org/2000/svg"/>', NOT_AN_IMAGE),
        (b"", EMPTY),
        (two_colour_jpeg((300, 300))[:2000], DAMAGED),
    ],
)
def test_avatar_refusals_match_the_editor_upload(content, message):
    with pytest.raises(ValidationError) as raised:
        validate_and_reencode_avatar(SimpleUploadedFile("me.png", content))
    assert raised.value.messages == [message]


class AvatarForm(forms.Form):
    avatar = AvatarField(required=False)


def test_avatar_field_cleans_to_the_reencoded_file():
    content = image_bytes("JPEG", size=(400, 300))
    form = AvatarForm(files={"avatar": SimpleUploadedFile("me.jpg", content)})

    assert form.is_valid(), form.errors
    assert Image.open(form.cleaned_data["avatar"]).size == (256, 256)
    assert 'accept="image/jpeg,image/png,image/gif,image/webp"' in str(form)


def test_avatar_field_reports_a_refused_file():
    form = AvatarForm(files={"avatar": SimpleUploadedFile("me.png", b"<html>")})
    assert form.errors == {"avatar": [NOT_AN_IMAGE]}


class ProfileForm(forms.ModelForm):
    avatar = AvatarField(required=False)

    class Meta:
        model = get_user_model()
        fields = ["avatar"]


def test_avatar_field_saves_the_reencoded_file_on_the_user(user, settings):
    content = image_bytes("PNG", size=(600, 400), mode="RGBA", color=(*RED, 128))
    upload = SimpleUploadedFile("../me.svg.png", content, content_type="image/svg+xml")
    form = ProfileForm(instance=user, files={"avatar": upload})

    assert form.is_valid(), form.errors
    form.save()

    user.refresh_from_db()
    assert re.fullmatch(r"avatars/[0-9a-f]{24}\.webp", user.avatar.name)
    assert list(stored_files(settings)) == [user.avatar.name]
    stored = assert_clean_webp(user.avatar.read())
    assert (stored.size, stored.mode) == ((256, 256), "RGBA")


def test_uploaded_image_gets_size_and_srcset_in_rendered_markdown():
    from blog import markdown

    html = markdown.render(
        "![diagram](/media/uploads/2026/11/0123456789abcdef01234567_2400x1200.webp)"
    ).html
    assert 'width="2400"' in html
    assert 'height="1200"' in html
    assert "-800.webp 800w" in html
    assert 'sizes="' in html
    foreign = markdown.render("![x](https://example.com/a_2400x1200.webp)").html
    assert "srcset" not in foreign
