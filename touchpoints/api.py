"""REST API for touchpoints: organisation configuration, readable by every signed-in caller."""

from __future__ import annotations

from rest_framework import serializers, viewsets

from organization.api import StrictFilterSet

from .models import Touchpoint


class TouchpointSerializer(serializers.ModelSerializer):
    owner_team_id = serializers.IntegerField(read_only=True, allow_null=True)
    locations = serializers.SlugRelatedField(
        slug_field="code",
        many=True,
        read_only=True,
        help_text="Codes of the locations where it exists; empty means every location.",
    )

    class Meta:
        model = Touchpoint
        fields = [
            "id",
            "slug",
            "name",
            "description",
            "channel",
            "journey_stage",
            "customer_kind",
            "owner_team_id",
            "locations",
            "active",
        ]


class TouchpointFilter(StrictFilterSet):
    class Meta(StrictFilterSet.Meta):
        model = Touchpoint
        fields = ["channel", "journey_stage", "customer_kind", "active"]


class TouchpointViewSet(viewsets.ReadOnlyModelViewSet):
    """Every touchpoint of the organisation (configuration, not evidence: no scope applies)."""

    serializer_class = TouchpointSerializer
    lookup_value_regex = "[^/]+"  # a malformed id is a JSON 404 like an unknown one
    queryset = Touchpoint.objects.prefetch_related("locations").order_by("journey_stage", "name", "pk")
    filterset_class = TouchpointFilter
