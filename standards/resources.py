"""Import-export of standards, named by code; touchpoints by slug, teams as "LOC/Team name"."""

from import_export import fields

from organization.resources import ProgramResource, StrictManyToManyWidget, TeamKeysWidget
from touchpoints.models import Touchpoint

from .models import Standard


class StandardResource(ProgramResource):
    """Imported rows are saved like any edit and recorded in the standard's history; they do not
    count as material changes (that decision is taken on the admin form)."""

    touchpoints = fields.Field(
        attribute="touchpoints",
        column_name="touchpoints",
        widget=StrictManyToManyWidget(Touchpoint, field="slug", separator=","),
    )
    teams = fields.Field(attribute="teams", column_name="teams", widget=TeamKeysWidget())

    class Meta(ProgramResource.Meta):
        model = Standard
        fields = (
            "code",
            "title",
            "behaviour",
            "how",
            "why_customer",
            "why_employee",
            "touchpoints",
            "teams",
            "measure_kind",
            "comparator",
            "threshold",
            "unit",
            "target_rate",
            "weight",
            "non_negotiable",
            "status",
            "version",
            "effective_from",
        )
        import_id_fields = ("code",)

    def get_queryset(self):
        return super().get_queryset().prefetch_related("touchpoints", "teams__location")

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        # A file may carry a standard's version to a new database, but never rewinds or
        # skips the version of an existing one: versions move only by material change.
        if field.attribute == "version" and not instance._state.adding:
            return
        super().import_field(field, instance, row, is_m2m, **kwargs)
