"""Photos on a draft audit's answers.

An upload is trusted for nothing: it must be a JPEG, PNG or WebP that Pillow verifies, within the
byte and pixel limits (a small file can decode to gigabytes), for a question the draft asks. What
is stored is a fresh JPEG of the pixels alone: turned upright by its EXIF orientation, bounded to
AUDIT_PHOTO_MAX_SIDE, and written without EXIF (GPS, camera, time), XMP or ICC data, under a
random name in MEDIA_ROOT, which no URL serves (audits.photo_views hands photos out in scope).
"""

from __future__ import annotations

import warnings
from io import BytesIO

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from ..access import may_edit
from ..models import Answer, Audit, Photo, Question
from .scoring import Form, shown
from .submission import answer_save, given_answers

# Pillow's format names for what a phone camera or a screenshot gives.
ACCEPTED_FORMATS = {"JPEG": "JPEG", "PNG": "PNG", "WEBP": "WebP"}
JPEG_QUALITY = 85


class PhotoRefused(ValueError):
    """An upload that is not stored, with the reason to show the auditor."""


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f}".rstrip("0").rstrip(".") + " MB"


def _read_bounded(upload) -> bytes:
    """The upload's bytes, refusing it as soon as it passes the limit (its declared size may lie)."""
    limit = settings.AUDIT_PHOTO_MAX_BYTES
    too_big = PhotoRefused(f"The photo is larger than the limit of {_megabytes(limit)}.")
    if upload.size is not None and upload.size > limit:
        raise too_big
    upload.seek(0)
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise too_big
    if not data:
        raise PhotoRefused("The photo is empty.")
    return data


def _check_pixels(width: int, height: int) -> None:
    limit = settings.AUDIT_PHOTO_MAX_PIXELS
    if width * height > limit:
        raise PhotoRefused(
            f"The image is {width} × {height} pixels; at most {limit / 1_000_000:g} megapixels are accepted."
        )


def photo_reencoded(data: bytes) -> tuple[bytes, int, int]:
    """Verify `data` as an accepted image and return it as a clean JPEG with its width and height."""
    not_an_image = "The file is not a JPEG, PNG or WebP image that can be read."
    try:
        with warnings.catch_warnings():
            # Pillow only warns between its limit and twice it; here that is a refusal too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(BytesIO(data)) as probe:
                if probe.format not in ACCEPTED_FORMATS:
                    raise PhotoRefused(
                        f"{probe.format or 'This'} images are not accepted: send a JPEG, PNG or WebP photo."
                    )
                _check_pixels(*probe.size)
                probe.verify()
            # verify() leaves the image unusable: open it again to decode the pixels.
            with Image.open(BytesIO(data)) as image:
                image.load()
                upright = ImageOps.exif_transpose(image)
                _check_pixels(*upright.size)
                upright.thumbnail(
                    (settings.AUDIT_PHOTO_MAX_SIDE, settings.AUDIT_PHOTO_MAX_SIDE), Image.Resampling.LANCZOS
                )
                pixels = _flattened(upright)
    except PhotoRefused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoRefused("The image has too many pixels to be a photo.") from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError) as exc:
        raise PhotoRefused(not_an_image) from exc
    # A new image carries none of the original's info (EXIF, XMP, ICC, comments) to the encoder.
    clean = Image.new("RGB", pixels.size)
    clean.paste(pixels)
    out = BytesIO()
    clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue(), clean.width, clean.height


def _flattened(image: Image.Image) -> Image.Image:
    """RGB pixels; transparent parts (PNG, WebP) on white, as they look on a page."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _check_question(audit: Audit, question: Question) -> None:
    if question.section.template_id != audit.template_id:
        raise PhotoRefused("This question is not part of this audit's template.")
    form = Form.load(audit.template)
    if question.pk not in {q.pk for q in shown(form, given_answers(audit))}:
        raise PhotoRefused("This question is not asked with the answers given so far.")


def photo_attach(audit: Audit, question: Question, upload, user) -> Photo:
    """Store `upload` as a photo of `question`'s answer on `user`'s draft `audit`, creating the
    answer if there is none yet. Raises PhotoRefused, saying why, and stores nothing then."""
    if not may_edit(user, audit):
        raise PhotoRefused("Photos are added only by the auditor, while the audit is a draft.")
    _check_question(audit, question)
    data = _read_bounded(upload)
    jpeg, width, height = photo_reencoded(data)
    limit = settings.AUDIT_PHOTOS_PER_ANSWER
    photo = None
    try:
        with transaction.atomic():
            # The draft's row is the lock: two uploads at once cannot both take the last place.
            locked = Audit.objects.select_for_update().get(pk=audit.pk)
            if not may_edit(user, locked):
                raise PhotoRefused("Photos are added only by the auditor, while the audit is a draft.")
            answer = Answer.objects.filter(audit=locked, question=question).first() or answer_save(
                locked, question.pk
            )
            if answer.photos.count() >= limit:
                raise PhotoRefused(f"An answer takes at most {limit} photos: remove one to add another.")
            photo = Photo(answer=answer, width=width, height=height, size=len(jpeg), uploaded_by=user)
            photo.image.save("photo.jpg", ContentFile(jpeg), save=False)
            photo.save()
    except Exception:
        # Nothing half-written: a file whose row did not commit goes as well.
        if photo is not None and photo.image.name:
            photo.image.storage.delete(photo.image.name)
        raise
    return photo


def photo_remove(photo: Photo, user) -> int:
    """Remove a photo from `user`'s draft (its file too, once the row is gone); returns how many
    photos its answer still has."""
    audit = photo.answer.audit
    if not may_edit(user, audit):
        raise PhotoRefused("Photos are removed only by the auditor, while the audit is a draft.")
    answer_id = photo.answer_id
    storage, name = photo.image.storage, photo.image.name
    with transaction.atomic():
        photo.delete()
        transaction.on_commit(lambda: storage.delete(name))
    return Photo.objects.filter(answer_id=answer_id).count()
