"""REST API for organisation data: locations, read-only and scoped to the caller."""

from __future__ import annotations

import re

import django_filters
from django import forms
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers, viewsets

from .models import Location
from .scope import location_queryset_for


class StrictQueryForm(forms.Form):
    """The form of every API filter set: a query parameter that is given must hold a value of its
    documented type. django-filter would read an empty or unreadable value as "no filter"
    (`?passed=maybe` lists everything); here it is a 400 naming the parameter."""

    def clean(self):
        data = super().clean()
        for name, field in self.fields.items():
            raw = self.data.get(name)
            if raw is None or isinstance(field, forms.CharField):
                continue  # left out, or free text (where "" is a value like any other)
            if raw == "":
                self.add_error(name, "Give a value, or leave the parameter out.")
            elif isinstance(field, forms.NullBooleanField) and raw not in ("true", "false"):
                self.add_error(name, "Give true or false.")
            elif isinstance(field, forms.DecimalField) and not re.fullmatch(r"-?[0-9]+", raw):
                self.add_error(name, "Give a whole number (an id).")
        return data


@extend_schema_field(OpenApiTypes.INT)
class IdFilter(django_filters.NumberFilter):
    """A filter by id: documented as an integer, and StrictQueryForm refuses anything else."""


@extend_schema_field({"type": "string", "pattern": "^[^\\u0000]*$"})
class TextFilter(django_filters.CharFilter):
    """A filter by a code, number or slug: any text but NUL, which Django refuses (400)."""


class StrictFilterSet(django_filters.FilterSet):
    class Meta:
        form = StrictQueryForm


class LocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Location
        fields = ["id", "code", "name", "region", "active"]


class LocationFilter(StrictFilterSet):
    region = TextFilter(lookup_expr="iexact")

    class Meta(StrictFilterSet.Meta):
        model = Location
        fields = ["region", "active"]


class LocationViewSet(viewsets.ReadOnlyModelViewSet):
    """Locations the caller may see: all for admins, managed ones for managers, their own for staff."""

    serializer_class = LocationSerializer
    lookup_value_regex = "[^/]+"  # a malformed id is a JSON 404 like an unknown one
    filterset_class = LocationFilter
    queryset = Location.objects.none()  # for the schema; requests use get_queryset

    def get_queryset(self):
        return location_queryset_for(self.request.user, Location.objects.order_by("region", "name", "pk"))
