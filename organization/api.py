"""REST API for organisation data: locations, read-only and scoped to the caller."""

from __future__ import annotations

import django_filters
from rest_framework import serializers, viewsets

from .models import Location
from .scope import location_queryset_for


class LocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Location
        fields = ["id", "code", "name", "region", "active"]


class LocationFilter(django_filters.FilterSet):
    region = django_filters.CharFilter(lookup_expr="iexact")

    class Meta:
        model = Location
        fields = ["region", "active"]


class LocationViewSet(viewsets.ReadOnlyModelViewSet):
    """Locations the caller may see: all for admins, managed ones for managers, their own for staff."""

    serializer_class = LocationSerializer
    filterset_class = LocationFilter
    queryset = Location.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        return location_queryset_for(self.request.user, Location.objects.order_by("region", "name", "pk"))
