"""Audit photos: what an upload must be, what is stored of it, and who is handed it back."""

from __future__ import annotations

import os
import struct
import zlib
from io import BytesIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from audits.models import Answer, AuditStatus, Photo
from audits.services.photos import PhotoRefused, photo_attach, photo_remove
from audits.services.submission import answer_save
from organization.models import Role
from tests import factories
from tests.audit_factories import AuditFactory, ExternalEvaluatorFactory, template_from

GPS_IFD = 0x8825
ORIENTATION = 0x0112


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def template(db):
    return template_from(
        [
            {
                "title": "Shop floor",
                "questions": [
                    {"key": "clean", "kind": "yes_no"},
                    {"key": "mess", "kind": "photo", "parent": "clean", "shown_when": ["no"]},
                    {"key": "shelf", "kind": "photo", "required": False},
                ],
            }
        ]
    )


@pytest.fixture
def audit(template, location_a, staff):
    return AuditFactory(template=template, location=location_a, auditor=staff)


def jpeg_with_gps(size=(40, 20), orientation=1) -> bytes:
    """A JPEG as a phone writes it: EXIF with a camera, a GPS position and an orientation."""
    image = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 12"  # Model
    exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (51.0, 30.0, 12.5)
    gps[3] = "W"
    gps[4] = (0.0, 7.0, 39.0)
    out = BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png_bytes(size=(30, 30), mode="RGBA") -> bytes:
    out = BytesIO()
    Image.new(mode, size, (10, 120, 10, 128) if mode == "RGBA" else (10, 120, 10)).save(out, "PNG")
    return out.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` × `height` pixels: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


def upload(data: bytes, name="photo.jpg", content_type="image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored(photo: Photo) -> Image.Image:
    with photo.image.open("rb") as handle:
        image = Image.open(BytesIO(handle.read()))
        image.load()
    return image


# --------------------------------------------------------------------------- what is stored


def test_a_phone_jpeg_comes_back_without_any_metadata(audit, template, staff, private_media):
    sent = upload(jpeg_with_gps(), name="IMG_Oxford_Street_0815.jpg")
    photo = photo_attach(audit, template.q["shelf"], sent, staff)

    image = stored(photo)
    assert image.format == "JPEG"
    assert len(image.getexif()) == 0
    assert "exif" not in image.info
    assert "icc_profile" not in image.info
    assert not any(key.lower().startswith("xmp") for key in image.info)
    # The original bytes' GPS reference and camera name are nowhere in the file.
    with photo.image.open("rb") as handle:
        raw = handle.read()
    assert b"PhoneMaker" not in raw and b"Exif" not in raw
    assert (photo.width, photo.height, photo.size) == (40, 20, len(raw))
    # Stored under MEDIA_ROOT (served by no URL) with a random name, not the uploaded one.
    assert str(private_media) in photo.image.path
    assert photo.image.name.startswith(f"audit-photos/{audit.key}/") and "Oxford" not in photo.image.name
    # The answer was created to hold it, with no value.
    answer = Answer.objects.get(audit=audit, question=template.q["shelf"])
    assert (answer.value, photo.answer_id, photo.uploaded_by) == ("", answer.pk, staff)


def test_the_exif_orientation_is_applied_before_it_is_dropped(audit, template, staff):
    # Orientation 6: the camera was turned a quarter; the 40 × 20 sensor image is shown 20 × 40.
    photo = photo_attach(audit, template.q["shelf"], upload(jpeg_with_gps(orientation=6)), staff)
    assert stored(photo).size == (20, 40) == (photo.width, photo.height)


def test_a_large_photo_is_bounded_to_the_longest_side(audit, template, staff, settings):
    settings.AUDIT_PHOTO_MAX_SIDE = 64
    photo = photo_attach(audit, template.q["shelf"], upload(jpeg_with_gps(size=(300, 150))), staff)
    assert stored(photo).size == (64, 32)


def test_a_png_is_accepted_and_stored_as_jpeg_on_white(audit, template, staff):
    photo = photo_attach(audit, template.q["shelf"], upload(png_bytes(), "shot.png", "image/png"), staff)
    image = stored(photo)
    assert (image.format, image.mode, image.size) == ("JPEG", "RGB", (30, 30))
    # Half-transparent green on white: 10×0.5+255×0.5 ≈ 132, 120×0.5+255×0.5 ≈ 188 (JPEG rounds a bit).
    red, green, blue = image.getpixel((15, 15))
    assert abs(red - 132) <= 4 and abs(green - 188) <= 4 and abs(blue - 132) <= 4


def test_a_webp_is_accepted(audit, template, staff):
    out = BytesIO()
    Image.new("RGB", (16, 16), (0, 0, 255)).save(out, "WEBP")
    photo = photo_attach(audit, template.q["shelf"], upload(out.getvalue(), "a.webp", "image/webp"), staff)
    assert stored(photo).format == "JPEG"


# --------------------------------------------------------------------------- what is refused


def _refused(audit, question, data: bytes, user, match: str) -> None:
    with pytest.raises(PhotoRefused, match=match):
        photo_attach(audit, question, upload(data), user)
    assert not Photo.objects.exists()


def test_a_text_file_named_jpg_is_refused(audit, template, staff, private_media):
    _refused(audit, template.q["shelf"], b"Not a photo at all, just words.\n" * 20, staff, "not a JPEG, PNG")
    # Nothing was written: no answer for it, no file.
    assert not Answer.objects.exists()
    assert not private_media.exists() or not any(p.is_file() for p in private_media.rglob("*"))


def test_a_truncated_jpeg_is_refused(audit, template, staff):
    _refused(audit, template.q["shelf"], jpeg_with_gps()[:200], staff, "not a JPEG, PNG")


def test_other_image_formats_are_refused(audit, template, staff):
    out = BytesIO()
    Image.new("RGB", (10, 10)).save(out, "GIF")
    _refused(audit, template.q["shelf"], out.getvalue(), staff, "GIF images are not accepted")


def test_an_oversized_file_is_refused_naming_the_limit(audit, template, staff, settings):
    settings.AUDIT_PHOTO_MAX_BYTES = 1024 * 1024  # 1 MB
    big = jpeg_with_gps() + b"\x00" * (1024 * 1024)
    _refused(audit, template.q["shelf"], big, staff, "larger than the limit of 1 MB")


def test_a_decompression_bomb_is_refused(audit, template, staff):
    # 50,000 × 50,000 pixels (7.5 GB decoded) in a file of about a hundred bytes.
    bomb = png_claiming(50_000, 50_000)
    assert len(bomb) < 200
    _refused(audit, template.q["shelf"], bomb, staff, "too many pixels")


def test_an_image_over_the_pixel_limit_is_refused(audit, template, staff, settings):
    settings.AUDIT_PHOTO_MAX_PIXELS = 10_000
    _refused(audit, template.q["shelf"], png_claiming(200, 100), staff, "200 × 100 pixels; at most 0.01")


def test_an_answer_takes_a_bounded_number_of_photos(audit, template, staff, settings):
    settings.AUDIT_PHOTOS_PER_ANSWER = 2
    for _ in range(2):
        photo_attach(audit, template.q["shelf"], upload(jpeg_with_gps()), staff)
    with pytest.raises(PhotoRefused, match="at most 2 photos"):
        photo_attach(audit, template.q["shelf"], upload(jpeg_with_gps()), staff)
    assert Photo.objects.count() == 2


def test_a_question_of_another_template_is_refused(audit, staff):
    other = template_from([{"questions": [{"key": "elsewhere", "kind": "photo"}]}])
    _refused(audit, other.q["elsewhere"], jpeg_with_gps(), staff, "not part of this audit's template")


def test_a_follow_up_not_asked_is_refused_until_its_answer_shows_it(audit, template, staff):
    _refused(audit, template.q["mess"], jpeg_with_gps(), staff, "not asked with the answers given")
    answer_save(audit, template.q["clean"].pk, value="no")
    photo = photo_attach(audit, template.q["mess"], upload(jpeg_with_gps()), staff)
    assert photo.answer.question == template.q["mess"]


def test_only_the_auditor_adds_photos_to_a_draft(audit, template, manager, staff):
    _refused(audit, template.q["shelf"], jpeg_with_gps(), manager, "only by the auditor")
    audit.status = AuditStatus.SUBMITTED
    _refused(audit, template.q["shelf"], jpeg_with_gps(), staff, "only by the auditor")


def test_photo_remove_deletes_the_row_and_then_the_file(
    audit, template, staff, manager, django_capture_on_commit_callbacks
):
    photo = photo_attach(audit, template.q["shelf"], upload(jpeg_with_gps()), staff)
    path = photo.image.path
    with pytest.raises(PhotoRefused):
        photo_remove(photo, manager)
    with django_capture_on_commit_callbacks(execute=True):
        assert photo_remove(photo, staff) == 0
    assert not Photo.objects.exists()
    # The file goes once the row's removal is committed, never before.
    assert not os.path.exists(path)


# --------------------------------------------------------------------------- over HTTP


def _upload_url(audit, question) -> str:
    return reverse("audit_photos:upload", args=[audit.pk, question.pk])


def test_upload_answers_json_with_the_photo_url_and_count(client, audit, template, staff):
    client.force_login(staff)
    response = client.post(_upload_url(audit, template.q["shelf"]), {"photo": upload(jpeg_with_gps())})
    assert response.status_code == 200
    photo = Photo.objects.get()
    assert response.json() == {
        "id": photo.pk,
        "url": reverse("audit_photos:file", args=[photo.pk]),
        "count": 1,
    }
    second = client.post(_upload_url(audit, template.q["shelf"]), {"photo": upload(png_bytes(), "b.png")})
    assert second.json()["count"] == 2


def test_upload_refusals_answer_400_with_the_reason(client, audit, template, staff):
    client.force_login(staff)
    url = _upload_url(audit, template.q["shelf"])
    fake = client.post(url, {"photo": upload(b"hello", "fake.jpg")})
    assert fake.status_code == 400 and fake.json()["error"].startswith("photo: The file is not a JPEG")
    missing = client.post(url, {})
    assert missing.status_code == 400 and "choose a photo" in missing.json()["error"]
    assert not Photo.objects.exists()


def test_upload_outside_scope_is_404_and_for_a_non_auditor_403(
    client, audit, template, other_manager, manager
):
    url = _upload_url(audit, template.q["shelf"])
    client.force_login(other_manager)
    assert client.post(url, {"photo": upload(jpeg_with_gps())}).status_code == 404
    client.force_login(manager)  # sees the audit, but it is not theirs to change
    assert client.post(url, {"photo": upload(jpeg_with_gps())}).status_code == 403
    assert client.get(url).status_code == 405
    assert not Photo.objects.exists()


@pytest.fixture
def photo(audit, template, staff):
    return photo_attach(audit, template.q["shelf"], upload(jpeg_with_gps()), staff)


@pytest.mark.parametrize("role", ["staff", "manager", "admin"])
def test_the_photo_is_served_to_the_auditor_the_locations_manager_and_an_admin(client, request, photo, role):
    client.force_login(request.getfixturevalue(role))
    response = client.get(reverse("audit_photos:file", args=[photo.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cache-Control"].startswith("private")
    body = b"".join(response.streaming_content)
    with photo.image.open("rb") as handle:
        assert body == handle.read()


def test_the_photo_is_404_to_everyone_else(client, photo, other_manager, location_a):
    path = reverse("audit_photos:file", args=[photo.pk])
    colleague = factories.EmployeeFactory(role=Role.STAFF, location=location_a).user
    evaluator = ExternalEvaluatorFactory().user
    for user in (other_manager, colleague, evaluator):
        client.force_login(user)
        assert client.get(path).status_code == 404, user
    assert client.get(reverse("audit_photos:file", args=[photo.pk + 1000])).status_code == 404


def test_the_photo_is_served_to_the_evaluator_who_did_the_audit(client, template, location_a):
    evaluator = ExternalEvaluatorFactory().user
    audit = AuditFactory(template=template, location=location_a, auditor=evaluator)
    photo = photo_attach(audit, template.q["shelf"], upload(jpeg_with_gps()), evaluator)
    client.force_login(evaluator)
    assert client.get(reverse("audit_photos:file", args=[photo.pk])).status_code == 200


def test_anonymous_visitors_are_sent_to_the_login_page(client, photo, audit, template):
    login = reverse("login")
    for response in (
        client.get(reverse("audit_photos:file", args=[photo.pk])),
        client.post(_upload_url(audit, template.q["shelf"]), {"photo": upload(jpeg_with_gps())}),
        client.post(reverse("audit_photos:delete", args=[photo.pk])),
    ):
        assert response.status_code == 302 and response.url.startswith(login)
    assert Photo.objects.count() == 1


def test_delete_by_the_auditor_only_and_only_on_a_draft(client, photo, staff, manager, other_manager):
    path = reverse("audit_photos:delete", args=[photo.pk])
    client.force_login(other_manager)
    assert client.post(path).status_code == 404
    client.force_login(manager)
    assert client.post(path).status_code == 403
    client.force_login(staff)
    assert client.get(path).status_code == 405
    assert client.post(path).json() == {"count": 0}
    assert not Photo.objects.exists()
    assert client.post(path).status_code == 404


def test_serving_a_photo_takes_a_fixed_number_of_queries(
    client, photo, manager, django_assert_max_num_queries
):
    client.force_login(manager)
    with django_assert_max_num_queries(4):
        assert client.get(reverse("audit_photos:file", args=[photo.pk])).status_code == 200
