"""The audit programme page: the overdue list first (the next action), then planned vs done vs
missed per location and month, and per template. The figures are `audits.selectors`'."""

from __future__ import annotations

import uuid
from datetime import date

from django import forms
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from organization.access import MANAGERS, role_required
from organization.models import Role
from organization.scope import role_of

from . import selectors

LOCATIONS_PER_PAGE = 25
OVERDUE_PER_PAGE = 20


class ProgrammeFilterForm(forms.Form):
    template = forms.ChoiceField(required=False, help_text="Every version of the template counts.")
    location = forms.ChoiceField(required=False)
    region = forms.ChoiceField(required=False)
    start = forms.CharField(
        label="From month",
        required=False,
        widget=forms.DateInput(attrs={"type": "month"}),
        help_text="As YYYY-MM; audits are counted in the month they are due.",
    )
    end = forms.CharField(
        label="To month",
        required=False,
        widget=forms.DateInput(attrs={"type": "month"}),
        help_text=f"At most {selectors.MAX_MONTHS} months from the first.",
    )

    def __init__(self, *args, templates, locations, regions, today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.locations = {str(location.pk): location for location in locations}
        self.fields["template"].choices = [
            ("", "All templates"),
            *((str(t.lineage), t.title) for t in templates),
        ]
        self.fields["location"].choices = [
            ("", "All my locations"),
            *((pk, f"{location.name} ({location.code})") for pk, location in self.locations.items()),
        ]
        self.fields["region"].choices = [("", "All regions"), *((region, region) for region in regions)]

    def _month(self, name: str) -> date | None:
        raw = (self.cleaned_data.get(name) or "").strip()
        if not raw:
            return None
        try:
            year, month = (int(part) for part in raw.split("-"))
            return date(year, month, 1)
        except (ValueError, TypeError):
            raise forms.ValidationError(f"Give a month as YYYY-MM, e.g. {self.today:%Y-%m}.") from None

    def clean_start(self):
        return self._month("start")

    def clean_end(self):
        return self._month("end")

    def clean(self):
        cleaned = super().clean()
        default_first, default_last = selectors.default_months(self.today)
        first, last = cleaned.get("start") or None, cleaned.get("end") or None
        if first and not last:
            last = max(first, default_last)
        if last and not first:
            first = selectors.add_months(last, 1 - selectors.DEFAULT_MONTHS)
        first, last = first or default_first, last or default_last
        if first > last:
            self.add_error("end", "The last month comes after the first.")
        elif len(selectors.months_between(first, last)) > selectors.MAX_MONTHS:
            self.add_error("end", f"Show at most {selectors.MAX_MONTHS} months at once.")
        cleaned["first_month"], cleaned["last_month"] = first, last
        return cleaned

    def filters(self) -> selectors.ProgrammeFilters:
        """The filters chosen; the defaults (every template and location, the last months) when the
        input is not valid, with the form's errors shown above."""
        first, last = selectors.default_months(self.today)
        if not self.is_valid():
            return selectors.ProgrammeFilters(first_month=first, last_month=last)
        template = self.cleaned_data.get("template")
        return selectors.ProgrammeFilters(
            first_month=self.cleaned_data["first_month"],
            last_month=self.cleaned_data["last_month"],
            lineage=uuid.UUID(template) if template else None,
            location=self.locations.get(self.cleaned_data.get("location") or ""),
            region=self.cleaned_data.get("region") or "",
        )


def audit_url(occurrence) -> str:
    """The page of the occurrence's audit (its audit when one was started), or "" when there is none."""
    audit = getattr(occurrence, "audit", None)
    attempts = [("audits:audit", occurrence.pk)]
    if audit is not None:
        attempts.insert(0, ("audits:detail", audit.pk))
    for name, pk in attempts:
        try:
            return reverse(name, args=[pk])
        except NoReverseMatch:
            continue
    return ""


def _schedule_url(user) -> str:
    return reverse("admin:audits_schedule_changelist") if user.is_staff else ""


@role_required(*MANAGERS)
def overview(request):
    now = timezone.now()
    today = timezone.localdate(now)
    locations = list(selectors.programme_locations(request.user).order_by("name", "pk"))
    raw_location = request.GET.get("location", "")
    if raw_location and raw_location not in {str(location.pk) for location in locations}:
        raise Http404("No location found in your scope.")
    form = ProgrammeFilterForm(
        request.GET or None,
        templates=selectors.template_choices(),
        locations=locations,
        regions=sorted({location.region for location in locations}),
        today=today,
    )
    filters = form.filters()

    overdue_page = Paginator(
        selectors.overdue_occurrences(request.user, filters, now=now), OVERDUE_PER_PAGE
    ).get_page(request.GET.get("overdue_page"))
    overdue = [
        {
            "occurrence": occurrence,
            "due": selectors.due_words(occurrence, now),
            "assignee": selectors.assignee_words(occurrence),
            "url": audit_url(occurrence),
        }
        for occurrence in overdue_page
    ]
    location_page = Paginator(
        selectors.heatmap_locations(request.user, filters), LOCATIONS_PER_PAGE
    ).get_page(request.GET.get("page"))
    rows = selectors.heatmap_rows(request.user, filters, list(location_page), now=now)
    templates, total = selectors.template_summary(request.user, filters, now=now)

    query = request.GET.copy()
    for name in ("page", "overdue_page"):
        query.pop(name, None)
    return render(
        request,
        "audits/programme.html",
        {
            "form": form,
            "filters": filters,
            "overdue": overdue,
            "overdue_page": overdue_page,
            "location_page": location_page,
            "rows": rows,
            "templates": templates,
            "total": total,
            "query": query.urlencode(),
            "schedule_url": _schedule_url(request.user),
            "is_admin": role_of(request.user) == Role.ADMIN,
            "good": round(100 * selectors.ON_TIME_GOOD),
            "fair": round(100 * selectors.ON_TIME_FAIR),
        },
    )
