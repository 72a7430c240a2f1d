"""REST API for service standards: organisation configuration, readable by every signed-in caller.

Drafts are work in progress that intake refuses, so only admins see them.
"""

from __future__ import annotations

from rest_framework import serializers, viewsets

from organization.api import StrictFilterSet, TextFilter
from organization.models import Role
from organization.scope import role_of

from .models import Standard, Status


class StandardSerializer(serializers.ModelSerializer):
    touchpoints = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True, help_text="Slugs of the touchpoints it covers."
    )
    measure_summary = serializers.CharField(read_only=True, help_text="e.g. “pass / fail” or “≤ 3 rings”.")

    class Meta:
        model = Standard
        fields = [
            "id",
            "code",
            "title",
            "behaviour",
            "how",
            "why_customer",
            "why_employee",
            "touchpoints",
            "measure_kind",
            "comparator",
            "threshold",
            "unit",
            "measure_summary",
            "target_rate",
            "weight",
            "non_negotiable",
            "status",
            "version",
            "effective_from",
        ]


class StandardFilter(StrictFilterSet):
    touchpoint = TextFilter(
        field_name="touchpoints__slug", distinct=True, help_text="Slug of a touchpoint the standard covers."
    )

    class Meta(StrictFilterSet.Meta):
        model = Standard
        fields = ["status", "non_negotiable", "touchpoint"]


class StandardViewSet(viewsets.ReadOnlyModelViewSet):
    """Service standards with their measure; drafts only for admins."""

    serializer_class = StandardSerializer
    lookup_value_regex = "[^/]+"  # a malformed id is a JSON 404 like an unknown one
    filterset_class = StandardFilter
    queryset = Standard.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        queryset = Standard.objects.prefetch_related("touchpoints").order_by("code")
        if role_of(self.request.user) != Role.ADMIN:
            queryset = queryset.exclude(status=Status.DRAFT)
        return queryset
