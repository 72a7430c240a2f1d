from django import forms

from .models import Standard


class StandardAdminForm(forms.ModelForm):
    """The standard's admin form, with the one decision a plain model form cannot express:
    whether this edit changes what employees agreed to."""

    material_change = forms.BooleanField(
        required=False,
        label="Material change",
        help_text=(
            "Tick when what employees must do, or how it is measured, changes. The standard gets a new "
            "version and every affected employee is asked to acknowledge it again. Leave unticked for "
            "typo fixes and rewording that changes nothing for them."
        ),
    )

    class Meta:
        model = Standard
        # Touchpoints are edited in their own inline; the version moves only through the service.
        fields = (
            "code",
            "title",
            "status",
            "effective_from",
            "behaviour",
            "how",
            "why_customer",
            "why_employee",
            "measure_kind",
            "comparator",
            "threshold",
            "unit",
            "target_rate",
            "weight",
            "non_negotiable",
            "teams",
        )
