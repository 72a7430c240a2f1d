"""Import-export of touchpoints, named by slug; owner team as "LOCATION-CODE/Team name"."""

from import_export import fields

from organization.models import Location
from organization.resources import ProgramResource, StrictManyToManyWidget, TeamKeyWidget

from .models import Touchpoint


class TouchpointResource(ProgramResource):
    owner_team = fields.Field(attribute="owner_team", column_name="owner_team", widget=TeamKeyWidget())
    locations = fields.Field(
        attribute="locations",
        column_name="locations",
        widget=StrictManyToManyWidget(Location, field="code", separator=","),
    )

    class Meta(ProgramResource.Meta):
        model = Touchpoint
        fields = (
            "slug",
            "name",
            "description",
            "channel",
            "journey_stage",
            "customer_kind",
            "owner_team",
            "locations",
            "active",
        )
        import_id_fields = ("slug",)

    def get_queryset(self):
        return super().get_queryset().select_related("owner_team__location").prefetch_related("locations")
