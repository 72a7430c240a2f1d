"""Django admin for the audit programme: templates here, schedules in admin_schedules.

Templates are built here: a template with its sections inline, a section with its questions
inline, a question with its options and logic rules inline. A published or retired version is
frozen everywhere (no add, change or delete of it or any of its parts): audits were done with
it. Changes go to its next version ("Make a new version"). Templates move between
installations as JSON (`audits.services.template_json`).
"""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.text import slugify

from . import admin_schedules  # noqa: F401
from .models import AuditTemplate, ChoiceOption, LogicRule, Question, Section, TemplateStatus
from .services.template_json import MAX_DOCUMENT_BYTES, template_export, template_import, template_loads
from .services.templates import template_new_version, template_publish, template_retire

FROZEN_MESSAGE = "Published versions are frozen: use “Make a new version” to change it"


def _template_of(obj) -> AuditTemplate | None:
    if isinstance(obj, AuditTemplate):
        return obj
    if isinstance(obj, Section):
        return obj.template
    if isinstance(obj, Question):
        return obj.section.template
    return None


def _frozen(obj) -> bool:
    template = _template_of(obj)
    return template is not None and template.frozen


class FrozenVersionMixin:
    """No add, change or delete on anything that belongs to a frozen version. Used by the
    model admins (obj: the object) and the inlines (obj: the object the inline sits in)."""

    def has_change_permission(self, request, obj=None):
        return not _frozen(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not _frozen(obj) and super().has_delete_permission(request, obj)


class FrozenInlineMixin(FrozenVersionMixin):
    def has_add_permission(self, request, obj=None):
        return not _frozen(obj) and super().has_add_permission(request, obj)


class FrozenNoticeMixin:
    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is not None and _frozen(obj) and request.method == "GET":
            messages.warning(request, FROZEN_MESSAGE)
        return super().change_view(request, object_id, form_url, extra_context)


def _errors(error: ValidationError) -> list[str]:
    return list(error.messages)


# --- templates -------------------------------------------------------------------------------


class SectionInline(FrozenInlineMixin, admin.TabularInline):
    model = Section
    fields = ["position", "title", "weight", "fail_below", "question_count"]
    readonly_fields = ["question_count"]
    ordering = ["position", "pk"]
    extra = 0
    show_change_link = True

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_questions=Count("questions"))

    @admin.display(description="questions")
    def question_count(self, section):
        return getattr(section, "n_questions", 0)


@admin.register(AuditTemplate)
class AuditTemplateAdmin(FrozenNoticeMixin, FrozenVersionMixin, admin.ModelAdmin):
    list_display = ["title", "version", "method", "status", "published_at", "question_count"]
    list_filter = ["status", "method", "touchpoints"]
    search_fields = ["title", "description"]
    ordering = ["title", "-version"]
    fields = [
        "title",
        "description",
        "method",
        "pass_mark",
        "touchpoints",
        "version",
        "status",
        "published_at",
    ]
    readonly_fields = ["version", "status", "published_at"]
    autocomplete_fields = ["touchpoints"]
    inlines = [SectionInline]
    actions = ["publish_selected", "new_version_selected", "retire_selected", "export_selected"]
    change_form_template = "admin/audits/audittemplate/change_form.html"
    change_list_template = "admin/audits/audittemplate/change_list.html"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_questions=Count("sections__questions"))

    @admin.display(description="questions", ordering="n_questions")
    def question_count(self, template):
        return template.n_questions

    def get_urls(self):
        own = [
            path("import/", self.admin_site.admin_view(self.import_view), name="audits_audittemplate_import"),
            path(
                "<path:object_id>/publish/",
                self.admin_site.admin_view(self.publish_view),
                name="audits_audittemplate_publish",
            ),
            path(
                "<path:object_id>/new-version/",
                self.admin_site.admin_view(self.new_version_view),
                name="audits_audittemplate_new_version",
            ),
            path(
                "<path:object_id>/retire/",
                self.admin_site.admin_view(self.retire_view),
                name="audits_audittemplate_retire",
            ),
            path(
                "<path:object_id>/export/",
                self.admin_site.admin_view(self.export_view),
                name="audits_audittemplate_export",
            ),
        ]
        return own + super().get_urls()

    # The buttons on a template's page and the list's actions say the same things.

    def _publish(self, request, template) -> bool:
        try:
            template_publish(template)
        except ValidationError as error:
            for message in _errors(error):
                messages.error(request, f"{template} cannot be published: {message}")
            return False
        messages.success(request, f"{template} is published; audits started from now on use it.")
        return True

    def _retire(self, request, template) -> bool:
        try:
            template_retire(template)
        except ValidationError as error:
            for message in _errors(error):
                messages.error(request, f"{template}: {message}")
            return False
        messages.success(request, f"{template} is retired; no new audit starts on it.")
        return True

    def _template_for_action(self, request, object_id) -> AuditTemplate:
        if not self.has_change_permission(request):
            raise PermissionDenied
        template = self.get_object(request, unquote(object_id))
        if template is None:
            raise Http404("No such audit template.")
        return template

    def _change_url(self, template) -> str:
        return reverse("admin:audits_audittemplate_change", args=[template.pk])

    def publish_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponse(status=405, headers={"Allow": "POST"})
        template = self._template_for_action(request, object_id)
        self._publish(request, template)
        return HttpResponseRedirect(self._change_url(template))

    def new_version_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponse(status=405, headers={"Allow": "POST"})
        template = self._template_for_action(request, object_id)
        draft = template_new_version(template)
        messages.success(request, f"{draft} is a draft: change it, then publish it.")
        return HttpResponseRedirect(self._change_url(draft))

    def retire_view(self, request, object_id):
        if request.method != "POST":
            return HttpResponse(status=405, headers={"Allow": "POST"})
        template = self._template_for_action(request, object_id)
        self._retire(request, template)
        return HttpResponseRedirect(self._change_url(template))

    def export_view(self, request, object_id):
        template = self.get_object(request, unquote(object_id))
        if template is None:
            raise Http404("No such audit template.")
        if not self.has_view_permission(request, template):
            raise PermissionDenied
        return _json_download(template)

    def import_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        problems: list[str] = []
        form = TemplateImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["document"]
            try:
                if upload.size > MAX_DOCUMENT_BYTES:
                    raise ValidationError(
                        f"The file is {upload.size:,} bytes; a template document can be at most "
                        f"{MAX_DOCUMENT_BYTES:,}."
                    )
                draft = template_import(template_loads(upload.read(MAX_DOCUMENT_BYTES + 1)))
            except ValidationError as error:
                problems = _errors(error)
            else:
                messages.success(
                    request,
                    format_html(
                        'Imported “{}” as a draft: <a href="{}">{}</a>. Check it, then publish it.',
                        draft.title,
                        self._change_url(draft),
                        draft,
                    ),
                )
                return HttpResponseRedirect(self._change_url(draft))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Import an audit template from JSON",
            "form": form,
            "problems": problems,
            "max_bytes": MAX_DOCUMENT_BYTES,
        }
        return TemplateResponse(request, "admin/audits/audittemplate/import.html", context)

    @admin.action(description="Publish the selected drafts")
    def publish_selected(self, request, queryset):
        for template in queryset:
            self._publish(request, template)

    @admin.action(description="Make a new version of the selected templates")
    def new_version_selected(self, request, queryset):
        drafts = [template_new_version(template) for template in queryset]
        for draft in drafts:
            messages.success(
                request,
                format_html(
                    '<a href="{}">{}</a> is a draft: change it, then publish it.',
                    self._change_url(draft),
                    draft,
                ),
            )
        if len(drafts) == 1:
            return HttpResponseRedirect(self._change_url(drafts[0]))
        return None

    @admin.action(description="Retire the selected published versions")
    def retire_selected(self, request, queryset):
        for template in queryset:
            self._retire(request, template)

    @admin.action(description="Export as JSON", permissions=["view"])
    def export_selected(self, request, queryset):
        templates = list(queryset[:2])
        if len(templates) != 1:
            messages.error(request, "Choose exactly one template to export: a document holds one version.")
            return None
        return _json_download(templates[0])

    # Actions that change status need the change permission, which the frozen mixin refuses
    # only for a given object.
    publish_selected.allowed_permissions = ["change"]
    new_version_selected.allowed_permissions = ["change"]
    retire_selected.allowed_permissions = ["change"]


def _json_download(template: AuditTemplate) -> HttpResponse:
    body = json.dumps(template_export(template), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    filename = f"{slugify(template.title) or 'audit-template'}-v{template.version}.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class TemplateImportForm(forms.Form):
    document = forms.FileField(
        label="JSON document",
        help_text=(
            "A file made with “Export as JSON”. It becomes a new draft; touchpoints (by slug) and "
            f"standards (by code) must exist here. At most {MAX_DOCUMENT_BYTES // 1000:,} kB."
        ),
    )


# --- sections --------------------------------------------------------------------------------


def _limit_parent_choices(form_class, template: AuditTemplate | None, exclude_pk=None) -> None:
    """A follow-up's parent is a question of the same template version."""
    if "parent" not in form_class.base_fields:
        return
    field = form_class.base_fields["parent"]
    if template is not None:
        queryset = Question.objects.filter(section__template=template)
    else:  # a new question: any draft's, and its own checks insist on the same template
        queryset = Question.objects.filter(section__template__status=TemplateStatus.DRAFT)
    if exclude_pk is not None:
        queryset = queryset.exclude(pk=exclude_pk)
    field.queryset = queryset.order_by("section__position", "position", "pk")


class QuestionInline(FrozenInlineMixin, admin.TabularInline):
    model = Question
    fields = [
        "position",
        "text",
        "kind",
        "standard",
        "weight",
        "critical",
        "required",
        "allow_na",
        "parent",
        "shown_when",
    ]
    ordering = ["position", "pk"]
    autocomplete_fields = ["standard"]
    extra = 0
    show_change_link = True

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        _limit_parent_choices(formset.form, obj.template if obj is not None else None)
        return formset

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("standard", "parent")


def _draft_templates():
    return AuditTemplate.objects.filter(status=TemplateStatus.DRAFT)


@admin.register(Section)
class SectionAdmin(FrozenNoticeMixin, FrozenVersionMixin, admin.ModelAdmin):
    list_display = ["title", "template", "position", "weight", "fail_below", "question_count"]
    list_filter = ["template__status", "template__method"]
    search_fields = ["title", "template__title"]
    ordering = ["template__title", "-template__version", "position", "pk"]
    list_select_related = ["template"]
    fields = ["template", "position", "title", "weight", "fail_below"]
    inlines = [QuestionInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_questions=Count("questions"))

    @admin.display(description="questions", ordering="n_questions")
    def question_count(self, section):
        return section.n_questions

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Sections are added to drafts only: a frozen version gains nothing.
        if db_field.name == "template":
            kwargs["queryset"] = _draft_templates()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


# --- questions -------------------------------------------------------------------------------


class ChoiceOptionInline(FrozenInlineMixin, admin.TabularInline):
    model = ChoiceOption
    fields = ["position", "label", "value", "score"]
    ordering = ["position", "pk"]
    extra = 0


class LogicRuleInline(FrozenInlineMixin, admin.TabularInline):
    model = LogicRule
    fields = ["answers", "require_note", "require_photo", "require_action"]
    extra = 0


QUESTION_FIELDS = [
    "section",
    "position",
    "text",
    "help_text",
    "kind",
    "standard",
    "weight",
    "critical",
    "required",
    "allow_na",
    "parent",
    "shown_when",
]


class QuestionAdminForm(forms.ModelForm):
    class Meta:
        model = Question
        fields = QUESTION_FIELDS

    def _post_clean(self):
        # The question's own checks compare it with its section's template; without a valid
        # section the section field already says what is wrong.
        if "section" in self.fields and self.cleaned_data.get("section") is None:
            return
        super()._post_clean()


@admin.register(Question)
class QuestionAdmin(FrozenNoticeMixin, FrozenVersionMixin, admin.ModelAdmin):
    form = QuestionAdminForm
    list_display = ["text", "section", "template", "kind", "standard", "weight", "critical"]
    list_filter = ["kind", "critical", "section__template__status"]
    search_fields = ["text", "section__title", "section__template__title", "standard__code"]
    ordering = ["section__template__title", "-section__template__version", "section__position", "position"]
    list_select_related = ["section__template", "standard"]
    autocomplete_fields = ["standard"]
    fields = QUESTION_FIELDS
    inlines = [ChoiceOptionInline, LogicRuleInline]

    @admin.display(description="template", ordering="section__template__title")
    def template(self, question):
        return question.section.template

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        _limit_parent_choices(
            form, obj.section.template if obj is not None else None, exclude_pk=getattr(obj, "pk", None)
        )
        return form

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "section":
            kwargs["queryset"] = Section.objects.filter(template__status=TemplateStatus.DRAFT).select_related(
                "template"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("section__template", "standard")
