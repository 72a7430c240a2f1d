"""The case measures page (`/cases/measures/`): managers and admins, over the locations they manage.

``?month=YYYY-MM`` shows one month, without it the last 12 (this one included); ``?location=CODE``
one location (outside the scope: 404); ``?format=csv`` the whole table as a download.
"""

from __future__ import annotations

from datetime import date

from django import forms
from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from organization.access import MANAGERS, role_required
from organization.models import Location
from servicedesk.exports import csv_response, wants_csv

from . import measures

MONTH_FORMAT = "Give the month as YYYY-MM, e.g. 2026-03, or leave it empty for the last 12 months."


class MeasureFilterForm(forms.Form):
    month = forms.CharField(
        required=False,
        label="Month",
        max_length=7,
        help_text="Leave empty for the last 12 months.",
        widget=forms.TextInput(attrs={"type": "month", "placeholder": "YYYY-MM"}),
    )
    location = forms.ChoiceField(required=False, label="Location")

    def __init__(self, *args, locations: list[Location], today: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["location"].choices = [
            ("", "Every location"),
            *((loc.code, f"{loc.name} ({loc.code})") for loc in locations),
        ]

    def clean_month(self) -> date | None:
        raw = self.cleaned_data["month"].strip()
        if not raw:
            return None
        try:
            month = date.fromisoformat(f"{raw}-01") if len(raw) == 7 else None
        except ValueError:
            month = None
        if month is None:
            raise forms.ValidationError(MONTH_FORMAT)
        earliest = settings.INTAKE_EARLIEST.replace(day=1)
        if not earliest <= month <= self.today:
            raise forms.ValidationError(
                f"Choose a month from {earliest:%B %Y} to {self.today:%B %Y}: no case is dated outside them."
            )
        return month


def _chosen_location(raw: str, locations: list[Location]) -> list[Location]:
    if not raw:
        return locations
    chosen = [loc for loc in locations if loc.code == raw]
    if not chosen:
        raise Http404("No location found in your scope.")
    return chosen


@role_required(*MANAGERS)
def case_measures(request):
    today = timezone.localdate()
    locations = list(measures.measure_locations(request.user))
    form = MeasureFilterForm(request.GET, locations=locations, today=today)
    # Outside the scope is 404 however it is asked for, before a malformed month is judged.
    chosen = _chosen_location(request.GET.get("location", ""), locations)
    if not form.is_valid():
        return render(request, "cases/measures.html", {"form": form}, status=400)
    month = form.cleaned_data["month"]
    months = [month] if month else measures.last_months(today)
    report = measures.case_measures(request.user, months=months, locations=chosen)
    if wants_csv(request):
        span = (
            measures.month_code(month)
            if month
            else f"{measures.month_code(months[0])}-to-{measures.month_code(months[-1])}"
        )
        where = form.cleaned_data["location"] or "all-locations"
        return csv_response(
            f"case-measures-{where}-{span}", measures.MEASURE_CSV_HEADER, measures.measure_csv_rows(report)
        )
    rows = report.locations if len(report.locations) < 2 else [report.overall, *report.locations]
    tables = [
        {
            "row": row,
            "months": row.months[::-1],  # the latest first
            "open_url": measures.queue_url(request.user, row.location),
            "breached_url": measures.queue_url(request.user, row.location, breached=1),
            "new_url": measures.queue_url(request.user, row.location, status="new"),
        }
        for row in rows
    ]
    query = request.GET.copy()
    query.pop("format", None)
    return render(
        request,
        "cases/measures.html",
        {
            "form": form,
            "report": report,
            "tables": tables,
            "one_month": bool(month),
            "query": query.urlencode(),
            "queue_tab": measures.queue_tab(request.user),
        },
    )
