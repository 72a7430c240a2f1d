"""Audit photos over HTTP: the form's upload and removal (JSON for its script), and the photo
itself, served only to users who may see its audit (audits.access) and never cached publicly."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from .access import audit_for, audits_for, may_edit
from .models import Photo, Question
from .services.photos import PhotoRefused, photo_attach, photo_remove

NOT_YOURS = "Only the auditor adds or removes photos, while the audit is a draft."


def _photo_in_scope(user, pk) -> Photo:
    try:
        return Photo.objects.select_related("answer__audit").get(pk=pk, answer__audit__in=audits_for(user))
    except (Photo.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404("No photo found in your scope.") from exc


@require_POST
@login_required
def upload(request, audit, question):
    """Multipart field "photo" → {"id", "url", "count"} (the answer's photos now), or 400 {"error"}."""
    found = audit_for(request.user, audit)
    if not may_edit(request.user, found):
        return JsonResponse({"error": NOT_YOURS}, status=403)
    asked = Question.objects.select_related("section").filter(pk=question).first()
    if asked is None:
        raise Http404("No such question.")
    file = request.FILES.get("photo")
    if file is None:
        return JsonResponse({"error": "photo: choose a photo to upload."}, status=400)
    try:
        photo = photo_attach(found, asked, file, request.user)
    except PhotoRefused as exc:
        return JsonResponse({"error": f"photo: {exc}"}, status=400)
    return JsonResponse(
        {
            "id": photo.pk,
            "url": reverse("audit_photos:file", args=[photo.pk]),
            "count": Photo.objects.filter(answer_id=photo.answer_id).count(),
        }
    )


@require_GET
@login_required
def serve(request, pk):
    photo = _photo_in_scope(request.user, pk)
    try:
        handle = photo.image.open("rb")
    except OSError as exc:
        raise Http404("The photo's file is missing.") from exc
    response = FileResponse(handle, content_type="image/jpeg")
    response["X-Content-Type-Options"] = "nosniff"
    # Only this user's browser may keep it; a shared cache must never hand it to someone else.
    response["Cache-Control"] = "private, max-age=3600"
    response["Content-Disposition"] = f'inline; filename="audit-photo-{photo.pk}.jpg"'
    return response


@require_POST
@login_required
def delete(request, pk):
    """Remove a photo from a draft, by its auditor → {"count"} (the answer's photos left)."""
    photo = _photo_in_scope(request.user, pk)
    if not may_edit(request.user, photo.answer.audit):
        return JsonResponse({"error": NOT_YOURS}, status=403)
    try:
        count = photo_remove(photo, request.user)
    except PhotoRefused as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    return JsonResponse({"count": count})
