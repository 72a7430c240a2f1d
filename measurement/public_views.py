"""The customer feedback form (public, no login) and its QR codes (managers of the location).

Submissions go through the intake service like every other channel; these views only find the
location and touchpoint, guard the form (rate limit, honeypot) and render.
"""

from __future__ import annotations

import io
from uuid import uuid4

import segno
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from organization.models import Location, Role
from organization.scope import location_queryset_for, role_of
from touchpoints.models import Touchpoint

from .forms import FeedbackForm
from .models import FeedbackChannel
from .ratelimit import rate_limit_allows
from .services.intake import feedback_ingest

QR_ERROR_LEVEL = "m"  # survives a smudge or a crease (15% of the code)


def _touchpoints_at(location: Location) -> QuerySet[Touchpoint]:
    """Active touchpoints present at `location` (no locations set = present everywhere)."""
    return Touchpoint.objects.filter(active=True).filter(Q(locations__isnull=True) | Q(locations=location))


def _touchpoint_at(location: Location, reference: str) -> Touchpoint:
    """The touchpoint named by slug (or by id) if it is present at `location`, else Http404."""
    candidates = _touchpoints_at(location)
    touchpoint = candidates.filter(slug=reference).first()
    if touchpoint is None and reference.isdigit():
        touchpoint = candidates.filter(pk=int(reference)).first()
    if touchpoint is None:
        raise Http404("No such touchpoint at this location.")
    return touchpoint


def _public_target(code: str, reference: str) -> tuple[Location, Touchpoint]:
    location = get_object_or_404(Location, code__iexact=code, active=True)
    return location, _touchpoint_at(location, reference)


def _managed_location(user, code: str) -> Location:
    """The active location `code` if `user` is an admin or a manager with it in scope, else Http404."""
    if role_of(user) not in (Role.ADMIN, Role.MANAGER):
        raise Http404("No location found in your scope.")
    locations = location_queryset_for(user, Location.objects.filter(active=True))
    return get_object_or_404(locations, code__iexact=code)


def _feedback_link(request, location: Location, touchpoint: Touchpoint) -> str:
    """The absolute address a printed code leads to; `src=qr` marks answers given through it."""
    path = reverse("feedback-form", args=[location.code, touchpoint.slug])
    return request.build_absolute_uri(f"{path}?src=qr")


@require_http_methods(["GET", "POST"])
def feedback_form(request, code: str, touchpoint: str):
    location, touchpoint = _public_target(code, touchpoint)
    channel = FeedbackChannel.QR_CODE if request.GET.get("src") == "qr" else FeedbackChannel.WEB_FORM
    thanks = reverse("feedback-thanks", args=[location.code, touchpoint.slug])
    if request.method == "POST":
        allowed = rate_limit_allows(
            request,
            scope="feedback",
            limit=settings.FEEDBACK_RATE_LIMIT,
            window_seconds=settings.FEEDBACK_RATE_WINDOW_SECONDS,
        )
        if not allowed:
            context = {"location": location, "touchpoint": touchpoint}
            response = render(request, "measurement/feedback_rate_limited.html", context, status=429)
            response["Retry-After"] = str(settings.FEEDBACK_RATE_WINDOW_SECONDS)
            return response
        form = FeedbackForm(request.POST)
        if form.is_bot():
            # Answer as if all went well, so the bot learns nothing; store nothing.
            return redirect(thanks)
        if form.is_valid():
            row = form.intake_row(
                location_code=location.code, touchpoint_slug=touchpoint.slug, channel=channel
            )
            result = feedback_ingest([(1, row)])
            if result.ok:
                return redirect(thanks)
            form.add_intake_errors(result.errors)
    else:
        form = FeedbackForm(initial={"submission": uuid4()})
    context = {"form": form, "location": location, "touchpoint": touchpoint}
    return render(request, "measurement/feedback_form.html", context)


@require_GET
def feedback_thanks(request, code: str, touchpoint: str):
    location, touchpoint = _public_target(code, touchpoint)
    context = {"location": location, "touchpoint": touchpoint}
    return render(request, "measurement/feedback_thanks.html", context)


@login_required
@require_GET
def qr_sheet(request, code: str):
    """A printable sheet: one card per touchpoint present at the location, with its QR code."""
    location = _managed_location(request.user, code)
    cards = []
    for touchpoint in _touchpoints_at(location):
        link = _feedback_link(request, location, touchpoint)
        code_svg = segno.make(link, error=QR_ERROR_LEVEL).svg_inline(
            scale=4, omitsize=True, svgclass="qr-code", title=f"QR code for {link}"
        )
        cards.append({"touchpoint": touchpoint, "link": link, "svg": code_svg})
    context = {"location": location, "cards": cards}
    return render(request, "measurement/qr_sheet.html", context)


@login_required
@require_GET
def qr_svg(request, code: str, touchpoint: str):
    """One QR code as an SVG file, e.g. for a poster or a table stand."""
    location = _managed_location(request.user, code)
    touchpoint = _touchpoint_at(location, touchpoint)
    link = _feedback_link(request, location, touchpoint)
    buffer = io.BytesIO()
    segno.make(link, error=QR_ERROR_LEVEL).save(buffer, kind="svg", scale=10, title=f"QR code for {link}")
    response = HttpResponse(buffer.getvalue(), content_type="image/svg+xml")
    response["Content-Disposition"] = f'inline; filename="feedback-{location.code}-{touchpoint.slug}.svg"'
    return response
