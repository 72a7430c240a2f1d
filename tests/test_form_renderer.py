"""The project's form renderer writes selects in Python: byte for byte what Django's templates give."""

from __future__ import annotations

from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy
from hypothesis import given, settings
from hypothesis import strategies as st

from servicedesk.form_renderer import FormRenderer, select_html

TEMPLATES = DjangoTemplates()
OURS = FormRenderer()

# Text with what HTML must escape, and what it must not touch.
texts = st.text(alphabet=st.sampled_from("ab <>&\"'é\u00a0\n"), max_size=8)
labels = st.one_of(texts, texts.map(mark_safe))
option_values = st.one_of(texts, st.integers(-5, 10**12))
choices = st.lists(
    st.one_of(
        st.tuples(option_values, labels),
        st.tuples(texts.filter(bool), st.lists(st.tuples(option_values, labels), max_size=3)),
    ),
    max_size=6,
)
attributes = st.dictionaries(
    st.sampled_from(["class", "id", "disabled", "data-x", "required", "aria-label"]),
    st.one_of(st.booleans(), texts, st.integers(0, 9), st.none()),
    max_size=4,
)


def both(widget: forms.Widget, name: str, value) -> tuple[str, str]:
    return widget.render(name, value, renderer=TEMPLATES), widget.render(name, value, renderer=OURS)


@settings(max_examples=300, deadline=None)
@given(choices=choices, attrs=attributes, name=texts, value=st.one_of(option_values, st.none()))
def test_a_select_is_what_the_templates_render(choices, attrs, name, value):
    expected, ours = both(forms.Select(attrs=attrs, choices=choices), name, value)
    assert ours == expected


@settings(max_examples=150, deadline=None)
@given(choices=choices, attrs=attributes, values=st.lists(option_values, max_size=3))
def test_a_multiple_select_is_what_the_templates_render(choices, attrs, values):
    expected, ours = both(forms.SelectMultiple(attrs=attrs, choices=choices), "many", values)
    assert ours == expected


def test_lazy_labels_and_the_null_boolean_select_are_what_the_templates_render():
    widget = forms.Select(choices=[("", gettext_lazy("Any")), ("a", gettext_lazy("Yes & no"))])
    assert both(widget, "x", "a")[1] == both(widget, "x", "a")[0]
    for value in (None, True, False, "unknown"):
        expected, ours = both(forms.NullBooleanSelect(), "flag", value)
        assert ours == expected


def test_model_choices_render_through_the_python_path(db):
    from organization.models import Location
    from tests.factories import LocationFactory

    LocationFactory(name="North <1>")
    LocationFactory(name="South & co")
    field = forms.ModelChoiceField(Location.objects.order_by("name"))
    context = field.widget.get_context("location", None, {})
    assert select_html(context["widget"]) is not None  # not left to the templates
    expected, ours = both(field.widget, "location", None)
    assert ours == expected
    assert "North &lt;1&gt;" in ours


def test_what_it_does_not_know_is_left_to_the_templates():
    # A number as a label is localised by the template; an option template of one's own is its own.
    assert select_html(forms.Select(choices=[(1, 2.5)]).get_context("n", None, {})["widget"]) is None

    class Custom(forms.Select):
        option_template_name = "django/forms/widgets/input_option.html"

    context = Custom(choices=[(1, "a")]).get_context("n", None, {})
    assert select_html(context["widget"]) is None
    expected, ours = both(Custom(choices=[(1, "a")]), "n", 1)
    assert ours == expected


def test_pages_use_the_renderer(settings):
    assert settings.FORM_RENDERER == "servicedesk.form_renderer.FormRenderer"
    assert isinstance(forms.Form().renderer, FormRenderer)
