"""The case measures page (`/cases/measures/`): managers and admins, over the locations they manage.

``?month=YYYY-MM`` shows one month, without it the last 12 (this one included); ``?location=CODE``
one location (outside the scope: 404); ``?format=csv`` the whole table as a download.
"""

from __future__ import annotations

from datetime import date

from django import forms
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone

from organization.access import MANAGERS, role_required
from organization.models import Location
from servicedesk.exports import csv_response, wants_csv

from . import measures

# The month menu reaches back this far; the API takes any month.
MONTHS_OFFERED = 36


class MeasureFilterForm(forms.Form):
    month = forms.ChoiceField(
        required=False,
        label="Month",
        error_messages={"invalid_choice": "Choose a month from the list (YYYY-MM), or none for the last 12."},
    )
    location = forms.ChoiceField(required=False, label="Location")

    def __init__(self, *args, locations: list[Location], today: date, **kwargs):
        super().__init__(*args, **kwargs)
        offered = reversed(measures.last_months(today, MONTHS_OFFERED))
        self.fields["month"].choices = [
            ("", "Last 12 months"),
            *((measures.month_code(m), f"{m:%B %Y}") for m in offered),
        ]
        self.fields["location"].choices = [
            ("", "Every location"),
            *((loc.code, f"{loc.name} ({loc.code})") for loc in locations),
        ]


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
    months = [date.fromisoformat(f"{month}-01")] if month else measures.last_months(today)
    report = measures.case_measures(request.user, months=months, locations=chosen)
    if wants_csv(request):
        span = month or f"{measures.month_code(months[0])}-to-{measures.month_code(months[-1])}"
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
