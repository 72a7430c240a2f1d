"""The project's form renderer: Django's templates, with select boxes written in Python.

Django renders a select through one template and every option through two more (the option and
its attributes). For the filters of a page with the organisation's 500 locations or 2,000
employees that is most of the page's time: 70-75 % of an admin's cases queue, with its SQL taking
1 ms. `FormRenderer.render` writes those selects directly, byte for byte what the templates
give (tests/test_form_renderer.py compares both), and leaves every other widget, and any select
whose option template or values it does not know, to the templates.
"""

from __future__ import annotations

from django.forms import Select
from django.forms.renderers import DjangoTemplates
from django.utils.functional import Promise
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeData

SELECT_TEMPLATE = Select.template_name
OPTION_TEMPLATE = Select.option_template_name


class FormRenderer(DjangoTemplates):
    """Django's default renderer (the project's templates may override the form templates), with
    the plain select written in Python; see the module docstring."""

    def render(self, template_name, context, request=None):
        if template_name == SELECT_TEMPLATE:
            html = select_html(context["widget"])
            if html is not None:
                return html
        return super().render(template_name, context, request=request)


def _text(value) -> str | None:
    """What ``{{ value }}`` shows for a label or group name: a string escaped unless it is safe.
    None for anything else (a number is localised by the template): left to the templates."""
    if isinstance(value, str | Promise):
        return str(conditional_escape(value))
    return None


def _formatted(value) -> str:
    """``{{ value|stringformat:'s' }}``: the value as text, escaped unless it was safe."""
    return str(value) if isinstance(value, SafeData) else escape(str(value))


def _attrs(attrs: dict) -> str | None:
    """django/forms/widgets/attrs.html: `` name="value"`` each, a bare name for True, none for False."""
    parts = []
    for name, value in attrs.items():
        if value is False:
            continue
        if value is True:
            parts.append(f" {conditional_escape(name)}")
        elif isinstance(value, str | int | Promise) or value is None:
            parts.append(f' {conditional_escape(name)}="{_formatted(value)}"')
        else:
            return None
    return "".join(parts)


def select_html(widget: dict) -> str | None:
    """The select of a widget context as django/forms/widgets/select.html renders it (after the
    renderer's strip()), or None where only the templates can say."""
    attrs = _attrs(widget["attrs"])
    if attrs is None:
        return None
    parts = [f'<select name="{conditional_escape(widget["name"])}"{attrs}>']
    for group_name, options, _ in widget["optgroups"]:
        group = _text(group_name) if group_name else ""
        if group is None:
            return None
        if group_name:
            parts.append(f'\n  <optgroup label="{group}">')
        for option in options:
            label, option_attrs = _text(option["label"]), _attrs(option["attrs"])
            if option["template_name"] != OPTION_TEMPLATE or label is None or option_attrs is None:
                return None
            value = _formatted(option["value"])
            parts.append(f'\n  <option value="{value}"{option_attrs}>{label}</option>\n')
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)
