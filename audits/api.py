"""REST API of the audit programme.

/api/v1/audit-templates/   read: published versions with their sections and questions
                           (admins: `?status=draft|retired` too); an external evaluator sees
                           only the templates of the audits assigned to them
/api/v1/audit-schedules/   admins read and write; managers read those in their scope
/api/v1/evaluations/       also takes an audit: a template version and its answers instead of
                           items (`audit_evaluation_record`)
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.response import Response

from measurement.api import (
    EVALUATION_WIDE_FIELDS,
    EvaluationInputSerializer,
    EvaluationResultSerializer,
    EvaluationViewSet,
    PostingScope,
    _intake_responses,
)
from measurement.services.intake import EvaluationOutcome, RowError
from organization.api import IdFilter, StrictFilterSet, TextFilter
from organization.models import Employee, Location, Role, Team
from organization.scope import role_of, scope_queryset
from organization.validators import text_problem, validate_text
from servicedesk.pagination import Keyset
from touchpoints.models import Touchpoint

from .access import assigned_to, evaluator_of, is_external_evaluator, may_do, occurrences_for
from .models import (
    AuditMethod,
    AuditTemplate,
    ChoiceOption,
    ExternalEvaluator,
    LogicRule,
    Occurrence,
    Question,
    QuestionKind,
    Schedule,
    Section,
    TemplateStatus,
)
from .services.recording import audit_record
from .services.schedules import schedules_create

# --- templates -----------------------------------------------------------------------------------


class OptionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChoiceOption
        fields = ["value", "label", "score"]


class RuleSerializer(serializers.ModelSerializer):
    answers = serializers.ListField(
        child=serializers.CharField(),
        help_text='The answers that trigger it; "failed": any below full marks.',
    )

    class Meta:
        model = LogicRule
        fields = ["answers", "require_note", "require_photo", "require_action"]


class QuestionSerializer(serializers.ModelSerializer):
    standard = serializers.CharField(
        source="standard.code",
        allow_null=True,
        read_only=True,
        help_text="The standard a scored answer observes.",
    )
    allow_na = serializers.BooleanField(
        source="na_allowed", read_only=True, help_text="Whether N/A (`na`) is an answer."
    )
    shown_when = serializers.ListField(
        child=serializers.CharField(), help_text="Asked only after one of these answers to `parent`."
    )
    options = OptionSerializer(many=True, read_only=True)
    rules = RuleSerializer(many=True, read_only=True)

    class Meta:
        model = Question
        fields = [
            "id",
            "position",
            "text",
            "help_text",
            "kind",
            "standard",
            "weight",
            "critical",
            "allow_na",
            "required",
            "parent",
            "shown_when",
            "options",
            "rules",
        ]


class SectionSerializer(serializers.ModelSerializer):
    questions = QuestionSerializer(many=True, read_only=True)

    class Meta:
        model = Section
        fields = ["id", "position", "title", "weight", "fail_below", "questions"]


class AuditTemplateSerializer(serializers.ModelSerializer):
    # Plain text in the schema: an enum named "method" would collide with the evaluation methods'.
    method = serializers.CharField(read_only=True, help_text=f"One of: {', '.join(AuditMethod.values)}.")
    # A string, as every read-only identifier here: the schema claims no format a value could break.
    lineage = serializers.CharField(
        read_only=True,
        help_text="Shared by every version of the template (a UUID): follow a template across versions.",
    )
    touchpoints = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    sections = SectionSerializer(many=True, read_only=True)

    class Meta:
        model = AuditTemplate
        fields = [
            "id",
            "lineage",
            "version",
            "title",
            "description",
            "method",
            "status",
            "pass_mark",
            "touchpoints",
            "published_at",
            "sections",
        ]
        read_only_fields = fields


class AuditTemplateFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(
        choices=TemplateStatus.choices, help_text="Published when left out; draft and retired for admins."
    )

    class Meta(StrictFilterSet.Meta):
        model = AuditTemplate
        fields = ["status"]


class ReadsTemplates(permissions.BasePermission):
    """Anyone with a programme role, and external evaluators (for their assigned audits)."""

    message = "Only program users and external evaluators may read audit templates."

    def has_permission(self, request, view) -> bool:
        return role_of(request.user) is not None or is_external_evaluator(request.user)


def templates_for(user, *, status_given: bool):
    """The template versions `user` may read: every version for admins (published only unless
    `status_given`), published ones for the others; an external evaluator's only where an
    occurrence assigned to them uses the template (any version of its lineage)."""
    templates = AuditTemplate.objects.all()
    if role_of(user) != Role.ADMIN or not status_given:
        templates = templates.filter(status=TemplateStatus.PUBLISHED)
    if role_of(user) is None:
        if evaluator_of(user) is None:
            return templates.none()
        assigned = Occurrence.objects.filter(assigned_to(user)).values("schedule__template__lineage")
        templates = templates.filter(lineage__in=assigned)
    return templates


class AuditTemplateViewSet(viewsets.ReadOnlyModelViewSet):
    """Audit template versions with their sections, questions, options and logic, in order."""

    serializer_class = AuditTemplateSerializer
    permission_classes = [permissions.IsAuthenticated, ReadsTemplates]
    filterset_class = AuditTemplateFilter
    queryset = AuditTemplate.objects.none()  # for the schema; requests use get_queryset
    lookup_value_regex = "[^/]+"  # a malformed id is a JSON 404 like an unknown one

    def get_queryset(self):
        questions = (
            Question.objects.select_related("standard")
            .order_by("position", "pk")
            .prefetch_related(
                Prefetch("options", queryset=ChoiceOption.objects.order_by("position", "pk")),
                Prefetch("rules", queryset=LogicRule.objects.order_by("pk")),
            )
        )
        sections = Section.objects.order_by("position", "pk").prefetch_related(
            Prefetch("questions", queryset=questions)
        )
        status_given = "status" in self.request.query_params
        return (
            templates_for(self.request.user, status_given=status_given)
            .order_by("title", "-version", "pk")
            .prefetch_related(Prefetch("sections", queryset=sections), "touchpoints")
        )


# --- schedules -----------------------------------------------------------------------------------


class AdministersSchedules(permissions.BasePermission):
    """Admins read and write; managers read the schedules of their locations; nobody else."""

    message = "Only admins manage audit schedules; managers may read those of their locations."

    def has_permission(self, request, view) -> bool:
        role = role_of(request.user)
        if role == Role.ADMIN:
            return True
        return role == Role.MANAGER and request.method in permissions.SAFE_METHODS


SCHEDULE_FIELDS = [
    "frequency",
    "weekdays",
    "day_of_month",
    "rule",
    "starts_on",
    "ends_on",
    "opens_at",
    "due_after_days",
    "due_time",
    "assignee_mode",
    "late_allowed_days",
    "active",
]


class ScheduleSerializer(serializers.ModelSerializer):
    """A schedule as read, and as written: `locations` (codes) on create makes one schedule per
    location; a schedule's location is not changed afterwards."""

    template = serializers.PrimaryKeyRelatedField(
        queryset=AuditTemplate.objects.all(),
        help_text="A template version id (its lineage's published one is used).",
    )
    location = serializers.CharField(source="location.code", read_only=True)
    locations = serializers.ListField(
        child=serializers.CharField(max_length=20),
        write_only=True,
        required=False,
        help_text="On create: location codes, one schedule per location.",
    )
    touchpoint = serializers.SlugRelatedField(
        slug_field="slug", queryset=Touchpoint.objects.all(), required=False, allow_null=True
    )
    assigned_employees = serializers.SlugRelatedField(
        slug_field="employee_number",
        queryset=Employee.objects.all(),
        many=True,
        required=False,
        help_text="Employee numbers.",
    )
    assigned_team = serializers.PrimaryKeyRelatedField(
        queryset=Team.objects.all(), required=False, allow_null=True, help_text="A team id: everyone in it."
    )
    assigned_evaluators = serializers.PrimaryKeyRelatedField(
        queryset=ExternalEvaluator.objects.all(),
        many=True,
        required=False,
        help_text="External evaluator ids.",
    )

    class Meta:
        model = Schedule
        fields = [
            "id",
            "template",
            "location",
            "locations",
            "touchpoint",
            *SCHEDULE_FIELDS,
            "assigned_employees",
            "assigned_team",
            "assigned_evaluators",
            "created_at",
        ]
        read_only_fields = ["id", "location", "created_at"]

    def validate_locations(self, codes: list[str]) -> list[Location]:
        if self.instance is not None:
            raise serializers.ValidationError(
                "A schedule's location cannot be changed: create a schedule at the other location."
            )
        wanted = [code.strip().upper() for code in codes]
        if not wanted:
            raise serializers.ValidationError("Give at least one location code.")
        if len(set(wanted)) != len(wanted):
            raise serializers.ValidationError("Each location once, please.")
        found = {
            loc.code.upper(): loc for loc in Location.objects.filter(code__in=[c.strip() for c in codes])
        }
        unknown = [code for code in wanted if code not in found]
        if unknown:
            raise serializers.ValidationError(f"Unknown location codes: {', '.join(unknown)}.")
        return [found[code] for code in wanted]

    def validate(self, attrs):
        if self.instance is None and "locations" not in attrs:
            raise serializers.ValidationError({"locations": "Give the codes of the locations to schedule."})
        return attrs

    def create(self, validated_data):
        locations = validated_data.pop("locations")
        template = validated_data.pop("template")
        try:
            return schedules_create(template, locations, **validated_data)
        except ValidationError as error:
            raise serializers.ValidationError(_field_messages(error)) from None

    def update(self, instance, validated_data):
        employees = validated_data.pop("assigned_employees", None)
        evaluators = validated_data.pop("assigned_evaluators", None)
        for name, value in validated_data.items():
            setattr(instance, name, value)
        try:
            instance.full_clean()
        except ValidationError as error:
            raise serializers.ValidationError(_field_messages(error)) from None
        instance.save()
        if employees is not None:
            instance.assigned_employees.set(employees)
        if evaluators is not None:
            instance.assigned_evaluators.set(evaluators)
        return instance


def _field_messages(error: ValidationError) -> dict[str, list[str]]:
    """A model's errors under the API's field names (the location is sent as `locations`)."""
    if not hasattr(error, "error_dict"):
        return {"non_field_errors": error.messages}
    renamed = {"location": "locations", "__all__": "non_field_errors"}
    return {renamed.get(name, name): messages for name, messages in error.message_dict.items()}


class ScheduleCreatedSerializer(serializers.Serializer):
    schedules = ScheduleSerializer(many=True, help_text="One per location, in the order sent.")


class ScheduleFilter(StrictFilterSet):
    # An id or a code that matches nothing lists nothing (as the evidence lists' filters do), rather
    # than refusing the request.
    template = IdFilter(field_name="template_id", help_text="A template version's id.")
    location = TextFilter(field_name="location__code", lookup_expr="iexact", help_text="Location code.")

    class Meta(StrictFilterSet.Meta):
        model = Schedule
        fields = ["template", "location", "active"]


SCHEDULE_INVALID = OpenApiResponse(description="A field is invalid; the message names it. Nothing was saved.")
SCHEDULE_WRITE_REFUSED = OpenApiResponse(description="Only admins manage schedules.")
SCHEDULE_READ_REFUSED = OpenApiResponse(description="Only admins and managers read schedules.")


@extend_schema_view(
    list=extend_schema(responses={200: ScheduleSerializer(many=True), 403: SCHEDULE_READ_REFUSED}),
    retrieve=extend_schema(responses={200: ScheduleSerializer, 403: SCHEDULE_READ_REFUSED}),
    create=extend_schema(
        summary="Schedule a template at one or more locations",
        responses={201: ScheduleCreatedSerializer, 400: SCHEDULE_INVALID, 403: SCHEDULE_WRITE_REFUSED},
    ),
    update=extend_schema(
        responses={200: ScheduleSerializer, 400: SCHEDULE_INVALID, 403: SCHEDULE_WRITE_REFUSED}
    ),
    partial_update=extend_schema(
        responses={200: ScheduleSerializer, 400: SCHEDULE_INVALID, 403: SCHEDULE_WRITE_REFUSED}
    ),
    destroy=extend_schema(responses={204: None, 403: SCHEDULE_WRITE_REFUSED}),
)
class ScheduleViewSet(viewsets.ModelViewSet):
    """Audit schedules: a template planned at a location with a recurrence, due window and assignees."""

    serializer_class = ScheduleSerializer
    permission_classes = [permissions.IsAuthenticated, AdministersSchedules]
    filterset_class = ScheduleFilter
    pagination_class = Keyset
    keyset_ordering = ("id",)
    queryset = Schedule.objects.none()  # for the schema; requests use get_queryset
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        schedules = Schedule.objects.select_related("location", "touchpoint").prefetch_related(
            Prefetch("assigned_employees", queryset=Employee.objects.only("pk", "employee_number")),
            "assigned_evaluators",
        )
        return scope_queryset(self.request.user, schedules)

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        created = serializer.save()
        return Response(
            {"schedules": ScheduleSerializer(created, many=True).data}, status=status.HTTP_201_CREATED
        )


# --- audits through the evaluations endpoint ----------------------------------------------------


class AnswerInputSerializer(serializers.Serializer):
    question = serializers.IntegerField(help_text="A question id of the template version.")
    value = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=300,
        help_text='yes/no, pass/fail, 1–5, an option value, a number, text; "na" where N/A is allowed.',
    )
    note = serializers.CharField(required=False, allow_blank=True)
    action = serializers.CharField(required=False, allow_blank=True, help_text="A corrective action.")


class AuditEvaluationInputSerializer(serializers.Serializer):
    external_id = serializers.CharField(
        required=False, max_length=100, help_text="Your id for this audit: a resend is stored once."
    )
    template = serializers.IntegerField(help_text="The id of a published template version.")
    occurrence = serializers.IntegerField(
        required=False, allow_null=True, help_text="The planned audit this one is (an occurrence you may do)."
    )
    location = serializers.CharField(help_text="Location code, within your scope.")
    evaluated_at = serializers.DateTimeField(help_text="ISO 8601: when the audit was done.")
    team = serializers.CharField(required=False, help_text="Name of a team at that location.")
    employee = serializers.CharField(required=False, help_text="Employee number of someone at that location.")
    touchpoint = serializers.CharField(required=False, help_text="Touchpoint slug.")
    comment = serializers.CharField(required=False, allow_blank=True)
    answers = AnswerInputSerializer(
        many=True,
        help_text="The answers; the score follows the template's sections, weights and N/A. "
        "Photos cannot be sent here: an answer that needs one is done in the audit form.",
    )


def _evaluation_or_audit(*, many: bool) -> PolymorphicProxySerializer:
    return PolymorphicProxySerializer(
        component_name="EvaluationOrAudit",
        serializers=[EvaluationInputSerializer, AuditEvaluationInputSerializer],
        resource_type_field_name=None,
        many=many,
    )


# One evaluation is either kind, and a list may mix them: the body is one item or a list of items.
EVALUATION_BATCH = PolymorphicProxySerializer(
    component_name="EvaluationBatch",
    serializers=[_evaluation_or_audit(many=False), _evaluation_or_audit(many=True)],
    resource_type_field_name=None,
    many=False,
)

PHOTO_BY_FORM = (
    "This answer needs a photo, which cannot be sent through the API: do this audit in the audit form."
)
ANSWER_FIELDS = ("value", "note", "action")


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _id(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


class _Check:
    """Errors of one evaluation (its index in the batch), by API field name."""

    def __init__(self, index: int):
        self.index = index
        self.errors: list[RowError] = []

    def error(self, name: str, message: str) -> None:
        self.errors.append(RowError(self.index, name, message))


HEAD_TEXT_FIELDS = ("external_id", "location", "team", "employee", "touchpoint", "comment", "evaluated_at")


def _head_text(check: _Check, raw) -> bool:
    """Whether the evaluation's own fields are text a database column can hold (no NUL, no lone
    surrogate); each one that is not is named."""
    fine = True
    for name in HEAD_TEXT_FIELDS:
        if problem := text_problem(_text(raw.get(name))):
            check.error(name, problem)
            fine = False
    return fine


def _template(check: _Check, raw) -> AuditTemplate | None:
    pk = _id(raw.get("template"))
    template = AuditTemplate.objects.filter(pk=pk).first() if pk else None
    if template is None:
        check.error("template", "Give the id of a published audit template version.")
    elif template.status != TemplateStatus.PUBLISHED:
        check.error(
            "template",
            f"Version {template.version} of “{template.title}” is {template.get_status_display().lower()}: "
            "send the id of its published version.",
        )
    else:
        return template
    return None


def _answers(check: _Check, raw, template: AuditTemplate) -> list[dict[str, Any]]:
    entries = raw.get("answers")
    if not isinstance(entries, list) or not entries:
        check.error("answers", "Give the answers as a list of JSON objects, at least one.")
        return []
    questions = set(Question.objects.filter(section__template=template).values_list("pk", flat=True))
    answers, seen = [], {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            check.error(f"answers[{i}]", "Each answer must be a JSON object.")
            continue
        question = _id(entry.get("question"))
        if question not in questions:
            check.error(f"answers[{i}].question", "Give the id of a question of this template version.")
            continue
        if question in seen:
            check.error(f"answers[{i}].question", f"Answers the same question as answers[{seen[question]}].")
            continue
        seen[question] = i
        answer = {"question": question}
        for name in ANSWER_FIELDS:
            value = entry.get(name, "")
            if value is None:
                value = ""
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                check.error(f"answers[{i}].{name}", "Give text.")
                continue
            value = str(value).strip()
            if name == "value" and len(value) > 300:
                check.error(f"answers[{i}].value", "At most 300 characters.")
                continue
            try:
                validate_text(value)
            except ValidationError as error:
                check.error(f"answers[{i}].{name}", " ".join(error.messages))
                continue
            answer[name] = value
        answers.append(answer)
    return answers


def _references(check: _Check, raw) -> dict[str, Any]:
    """The location, touchpoint, team and employee named by code, slug, name and number."""
    found: dict[str, Any] = {}
    code = _text(raw.get("location"))
    location = Location.objects.filter(code__iexact=code).first() if code else None
    if location is None:
        check.error("location", f"Unknown location code “{code}”." if code else "Give a location code.")
        return found
    found["location"] = location
    slug = _text(raw.get("touchpoint"))
    if slug:
        found["touchpoint"] = Touchpoint.objects.filter(slug=slug).first()
        if found["touchpoint"] is None:
            check.error("touchpoint", f"Unknown touchpoint “{slug}”.")
    name = _text(raw.get("team"))
    if name:
        found["team"] = Team.objects.filter(location=location, name__iexact=name).first()
        if found["team"] is None:
            check.error("team", f"No team “{name}” at {location.code}.")
    number = _text(raw.get("employee"))
    if number:
        found["employee"] = Employee.objects.filter(location=location, employee_number__iexact=number).first()
        if found["employee"] is None:
            check.error("employee", f"No employee {number} at {location.code}.")
    return found


def _evaluated_at(check: _Check, raw) -> datetime | None:
    text = _text(raw.get("evaluated_at"))
    try:
        moment = parse_datetime(text) if text else None
    except ValueError:
        moment = None
    if moment is None:
        check.error(
            "evaluated_at", "Give when the audit was done in ISO 8601, e.g. 2026-03-31T14:05:00+01:00."
        )
        return None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def _occurrence(check: _Check, raw, user, template: AuditTemplate, location) -> Occurrence | None:
    if raw.get("occurrence") is None:
        return None
    pk = _id(raw.get("occurrence"))
    occurrence = (
        occurrences_for(user).select_related("schedule__template").filter(pk=pk).first() if pk else None
    )
    if occurrence is None:
        check.error("occurrence", "No planned audit with this id in your scope.")
    elif not may_do(user, occurrence):
        check.error("occurrence", "This planned audit no longer takes a submission (missed or done).")
    elif location is not None and occurrence.location_id != location.pk:
        check.error("occurrence", f"This planned audit is at another location, not {location.code}.")
    elif occurrence.schedule.template.lineage != template.lineage:
        check.error("occurrence", "This planned audit uses another template.")
    elif hasattr(occurrence, "audit"):
        check.error("occurrence", "This planned audit has been started already: finish it in the audit form.")
    else:
        return occurrence
    return None


def _problem_errors(check: _Check, problems, answers: list[dict], template: AuditTemplate) -> None:
    """Each problem under the answer it is about (`answers[i].value|note|action`), or under
    `answers` for a question left out."""
    position = {answer["question"]: i for i, answer in enumerate(answers)}
    texts = dict(Question.objects.filter(section__template=template).values_list("pk", "text"))
    kinds = dict(Question.objects.filter(section__template=template).values_list("pk", "kind"))
    for problem in problems:
        if problem.question == 0:
            check.error("occurrence" if problem.field == "occurrence" else "answers", problem.message)
            continue
        photo = problem.field == "photo" or kinds.get(problem.question) == QuestionKind.PHOTO
        message = PHOTO_BY_FORM if photo else problem.message
        field = "value" if photo else problem.field
        if problem.question in position:
            check.error(f"answers[{position[problem.question]}].{field}", message)
        else:
            check.error(
                "answers", f"Question {problem.question} (“{texts.get(problem.question)}”): {message}"
            )


def _intake_errors(check: _Check, errors: list[RowError]) -> None:
    """The intake's refusals of the audit's evaluation: head fields as sent, the rest on the answers."""
    seen = set()
    for error in errors:
        if error.field == "source":
            continue
        name = EVALUATION_WIDE_FIELDS.get(error.field, error.field) if error.row else error.field
        name = name if name in {"location", "team", "employee", "touchpoint", "evaluated_at"} else "answers"
        if (name, error.message) not in seen:
            seen.add((name, error.message))
            check.error(name, error.message)


def audit_evaluation_record(
    index: int, raw: Mapping[str, Any], user, scope: PostingScope
) -> tuple[EvaluationOutcome | None, list[RowError]]:
    """Record one evaluation sent as an audit (template and answers): checks what was sent, then
    `audit_record` scores it from the template and records it through the intake. Errors name the
    field (`answers[i].value`, …) at `index`."""
    check = _Check(index)
    if not _head_text(check, raw):
        return None, check.errors  # looked up as sent, such text would stop the database
    template = _template(check, raw)
    references = _references(check, raw)
    evaluated_at = _evaluated_at(check, raw)
    if template is None:
        return None, check.errors
    answers = _answers(check, raw, template)
    occurrence = _occurrence(check, raw, user, template, references.get("location"))
    if check.errors:
        return None, check.errors
    recorded = audit_record(
        template=template,
        answers=answers,
        evaluated_at=evaluated_at,
        user=user,
        occurrence=occurrence,
        comment=_text(raw.get("comment")),
        external_id=_text(raw.get("external_id")) or None,
        **references,
    )
    _problem_errors(check, recorded.problems, answers, template)
    _intake_errors(check, recorded.errors)
    if recorded.evaluation is not None and scope.excludes_id(recorded.evaluation.location_id):
        check.error("external_id", "This external id belongs to another evaluation.")
    if check.errors:
        return None, check.errors
    return EvaluationOutcome(recorded.evaluation, recorded.created, []), []


@extend_schema_view(
    create=extend_schema(
        summary="Record evaluations (mystery shops, QA reviews, audits)",
        description="Each evaluation is sent with `items` (one per standard checked, scored by their "
        "weights) or, for an audit, with `template` (a published version id) and `answers`, scored "
        "by the template's sections, weights and N/A, with its logic enforced.",
        request=EVALUATION_BATCH,
        responses=_intake_responses(EvaluationResultSerializer),
    )
)
class AuditEvaluationViewSet(EvaluationViewSet):
    """Evaluations with their weighted score; a failed critical item fails the whole evaluation.
    An audit (a template version with answers) is recorded as an evaluation too."""

    audit_recorder = staticmethod(audit_evaluation_record)
