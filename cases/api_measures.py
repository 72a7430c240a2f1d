"""GET /api/v1/cases/measures/: the case measures page's figures for other systems.

Managers and admins (by the token's owner), over the locations they manage, as the page shows them;
staff accounts get 403, a location outside the scope 404, a malformed month 400 naming the field.
"""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from organization.models import Role
from organization.scope import role_of
from servicedesk.api_schema import ErrorDetailSerializer

from . import measures


class IsManagerOrAdmin(permissions.BasePermission):
    message = "Case measures are for managers and admins; a staff account sees its own cases in the queue."

    def has_permission(self, request, view) -> bool:
        return role_of(request.user) in (Role.MANAGER, Role.ADMIN)


class MeasureQuerySerializer(serializers.Serializer):
    month = serializers.RegexField(
        r"^\d{4}-(0[1-9]|1[0-2])$",
        required=False,
        help_text="One month, YYYY-MM (months cut in the organisation's time zone). "
        "Without it: the last 12 months, this one included.",
        error_messages={"invalid": "Give the month as YYYY-MM, e.g. 2026-03."},
    )
    # Blank means every location, as a missing one does (a query string's empty value is not an error).
    location = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=20,
        help_text="A location code within your scope; without it (or blank) every one.",
    )

    def validate_month(self, value: str) -> date:
        earliest, today = settings.INTAKE_EARLIEST.replace(day=1), timezone.localdate()
        try:
            month = date.fromisoformat(f"{value}-01")
        except ValueError:  # year 0000 has the shape but is no date
            month = None
        if month is None or not earliest <= month <= today:
            raise serializers.ValidationError(
                f"Give a month from {earliest:%Y-%m} to {today:%Y-%m}: no case is dated outside them."
            )
        return month


class DurationsSerializer(serializers.Serializer):
    n = serializers.IntegerField(help_text="Cases acknowledged (resolved) behind the figures.")
    median_hours = serializers.FloatField(allow_null=True, help_text="Nearest-rank median, hours.")
    p90_hours = serializers.FloatField(allow_null=True, help_text="Nearest-rank 90th percentile, hours.")


class ShareSerializer(serializers.Serializer):
    part = serializers.IntegerField(help_text="Cases that met it (recovered: happy answers).")
    n = serializers.IntegerField(help_text="Cases whose outcome is known (recovered: answers).")
    rate = serializers.FloatField(allow_null=True, help_text="part / n, 0–1; null when n = 0.")


class MeasuresSerializer(serializers.Serializer):
    opened = serializers.IntegerField()
    time_to_acknowledge = DurationsSerializer(source="acknowledge")
    time_to_resolve = DurationsSerializer(source="resolve")
    acknowledged_within_sla = ShareSerializer(source="acknowledged_in_sla")
    resolved_within_sla = ShareSerializer(source="resolved_in_sla")
    recovery = ShareSerializer()


class MonthMeasuresSerializer(MeasuresSerializer):
    month = serializers.CharField(help_text="YYYY-MM")


class LocationMeasuresSerializer(serializers.Serializer):
    location = serializers.CharField(allow_null=True, help_text="Location code; null for all of them.")
    open_now = serializers.IntegerField()
    breached_now = serializers.IntegerField(help_text="Open cases past a deadline that still runs.")
    unacknowledged_now = serializers.IntegerField(help_text="Cases still new.")
    total = MeasuresSerializer(help_text="Over every month asked for.")
    months = MonthMeasuresSerializer(many=True)


class MeasureReportSerializer(serializers.Serializer):
    months = serializers.ListField(child=serializers.CharField(), help_text="YYYY-MM, oldest first.")
    min_evidence = serializers.IntegerField(help_text="Below this n a figure says little (MIN_EVIDENCE).")
    overall = LocationMeasuresSerializer()
    locations = LocationMeasuresSerializer(many=True)


def _location_payload(row: measures.LocationMeasures) -> dict:
    return {
        "location": row.location.code if row.location else None,
        "open_now": row.open_now,
        "breached_now": row.breached_now,
        "unacknowledged_now": row.unacknowledged_now,
        "total": MeasuresSerializer(row.total).data,
        "months": [
            {"month": measures.month_code(month), **MeasuresSerializer(figures).data}
            for month, figures in row.months
        ],
    }


class CaseMeasuresView(APIView):
    """Time to acknowledge and to resolve (nearest-rank median and 90th percentile of wall-clock
    hours), shares acknowledged and resolved within SLA (of the cases whose outcome is known),
    recovery rate, each with its n, per location and month (a case counts in the month it was
    opened), per location, and over every location; open and breached cases now."""

    permission_classes = [permissions.IsAuthenticated, IsManagerOrAdmin]

    @extend_schema(
        operation_id="cases_measures",
        summary="Case measures per location and month",
        parameters=[MeasureQuerySerializer],
        responses={
            200: MeasureReportSerializer,
            400: OpenApiResponse(
                {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "For each bad query parameter, what is wrong with it.",
                },
                description="A query parameter is invalid.",
            ),
            403: OpenApiResponse(ErrorDetailSerializer, description="Staff accounts may not read measures."),
            404: OpenApiResponse(ErrorDetailSerializer, description="No such location within your scope."),
        },
    )
    def get(self, request):
        query = MeasureQuerySerializer(data=request.query_params)
        if not query.is_valid():
            return Response(query.errors, status=status.HTTP_400_BAD_REQUEST)
        locations = list(measures.measure_locations(request.user))
        code = query.validated_data.get("location")
        if code:
            locations = [loc for loc in locations if loc.code == code]
            if not locations:
                raise NotFound("No location found in your scope.")
        month = query.validated_data.get("month")
        months = [month] if month else measures.last_months(timezone.localdate())
        report = measures.case_measures(request.user, months=months, locations=locations)
        return Response(
            {
                "months": [measures.month_code(m) for m in report.months],
                "min_evidence": report.min_evidence,
                "overall": _location_payload(report.overall),
                "locations": [_location_payload(row) for row in report.locations],
            }
        )
