"""The follow-up survey a customer is sent once their case is resolved (public, no login).

The token in the link is the only key: an unknown token gets a friendly page, an answered one a
thank-you. Answers are rate-limited per client address like the public feedback form.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from measurement.forms import COMMENT_MAX_LENGTH, CSAT_CHOICES
from measurement.ratelimit import rate_limit_allows

from .services.loop import case_by_follow_up_token, case_follow_up_answer


class FollowUpForm(forms.Form):
    csat = forms.TypedChoiceField(
        label="How satisfied are you with how we handled it?",
        choices=CSAT_CHOICES,
        coerce=int,
        widget=forms.RadioSelect(attrs={"class": "btn-check"}),
        error_messages={"required": "Choose how satisfied you are, from 1 to 5."},
    )
    comment = forms.CharField(
        label="Anything you would like to add? (optional)",
        required=False,
        max_length=COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4, "class": "form-control"}),
    )


@require_http_methods(["GET", "POST"])
def follow_up(request, token: str):
    case = case_by_follow_up_token(token)
    if case is None:
        return render(request, "cases/public/follow_up_unknown.html", status=404)
    if case.follow_up_answered_at is not None:
        return render(request, "cases/public/follow_up_thanks.html", {"case": case, "again": True})
    if request.method == "POST":
        allowed = rate_limit_allows(
            request,
            scope="case-follow-up",
            limit=settings.FEEDBACK_RATE_LIMIT,
            window_seconds=settings.FEEDBACK_RATE_WINDOW_SECONDS,
        )
        if not allowed:
            response = render(request, "cases/public/follow_up_rate_limited.html", {"case": case}, status=429)
            response["Retry-After"] = str(settings.FEEDBACK_RATE_WINDOW_SECONDS)
            return response
        form = FollowUpForm(request.POST)
        if form.is_valid():
            try:
                _case, first = case_follow_up_answer(
                    case=case, csat=form.cleaned_data["csat"], comment=form.cleaned_data["comment"]
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                context = {"case": case, "again": not first}
                return render(request, "cases/public/follow_up_thanks.html", context)
    else:
        form = FollowUpForm()
    return render(request, "cases/public/follow_up.html", {"case": case, "form": form})
