from django import forms

from .models import HUNDRED, Standard


class StandardAdminForm(forms.ModelForm):
    """The standard's admin form, with the one decision a plain model form cannot express:
    whether this edit changes what employees agreed to. A non-negotiable standard's target is
    100 %, so ticking the box sets it instead of failing the form."""

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
        help_texts = {
            "target_rate": (
                "Share of observations that must pass, in percent. A non-negotiable standard's target is "
                "always 100: ticking “non-negotiable” sets it."
            ),
            "non_negotiable": (
                "No excuses: every failure is a deviation that needs a corrective action. Sets the target "
                "to 100 %."
            ),
        }

    class Media:
        js = ("js/standard_admin.js",)

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("non_negotiable"):
            # Whatever was typed (or left blank) in the target, the rule decides it.
            cleaned_data["target_rate"] = HUNDRED
            self.errors.pop("target_rate", None)
        return cleaned_data
