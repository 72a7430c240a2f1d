from django import forms
from django.db.models import Case, Value, When
from django.utils import timezone

from .models import Course, DeliveryMethod


class CompletionForm(forms.Form):
    course = forms.ModelChoiceField(
        queryset=Course.objects.filter(active=True),
        empty_label="Choose the course",
        help_text="The course you completed.",
    )
    completed_on = forms.DateField(
        # ISO format: a date input shows nothing for a value in the locale's format (23/11/2026).
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="The day you finished it.",
    )
    method = forms.ChoiceField(
        choices=[("", "Choose how you completed it"), *DeliveryMethod.choices],
        label="Method",
        help_text="How you completed it: e-learning, a classroom session, on the job…",
    )
    score = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=100,
        help_text="Your assessment score in percent, if the course has one.",
    )
    evidence = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Certificate number, trainer's name or a link, so your manager can verify it.",
    )

    def __init__(self, *args, assigned_course_ids=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["completed_on"].initial = timezone.localdate()
        # Courses the employee must complete come first in the list, then the others by title.
        required_first = Case(When(pk__in=list(assigned_course_ids), then=Value(0)), default=Value(1))
        self.fields["course"].queryset = Course.objects.filter(active=True).order_by(required_first, "title")
        if assigned_course_ids:
            self.fields["course"].help_text = "The courses required of you come first."


class RejectForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Say what is missing, so the employee can put it right.",
    )
