"""Import-export of courses, named by code; the standards they cover by code."""

from import_export import fields

from organization.resources import ProgramResource, StrictManyToManyWidget
from standards.models import Standard

from .models import Course


class CourseResource(ProgramResource):
    standards = fields.Field(
        attribute="standards",
        column_name="standards",
        widget=StrictManyToManyWidget(Standard, field="code", separator=","),
    )

    class Meta(ProgramResource.Meta):
        model = Course
        fields = (
            "code",
            "title",
            "description",
            "standards",
            "delivery_method",
            "duration_minutes",
            "pass_mark",
            "refresher_interval_days",
            "active",
        )
        import_id_fields = ("code",)

    def get_queryset(self):
        return super().get_queryset().prefetch_related("standards")
