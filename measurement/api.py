"""REST API for evidence (observations, evaluations, customer feedback) and scorecards.

Reads: every queryset goes through `scope_queryset`, so a caller sees exactly what the pages
show them (admins everything, managers their locations and teams, staff their own records)
and an object outside their scope answers 404.

Writes: a POST body is one JSON object or a list of them (at most `MAX_BATCH` items). The
intake service (`measurement.services.intake`) checks and stores them, all or nothing; the
serializers below only document the body for the OpenAPI schema. Items are numbered from 0
in error reports. Posting is for managers and admins: a manager may record evidence only for
locations they may see (`location_queryset_for`); staff accounts get 403.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.db.models import Prefetch, Q
from drf_spectacular.utils import (
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from organization.models import Employee, Location, Role, Team
from organization.scope import (
    employee_of,
    location_queryset_for,
    managed_location_ids,
    managed_team_ids,
    role_of,
    scope_queryset,
)
from servicedesk.pagination import Keyset

from .filters import EvaluationFilter, FeedbackFilter, ObservationFilter, ScorecardFilter
from .models import (
    Deviation,
    Evaluation,
    EvaluationMethod,
    Feedback,
    FeedbackChannel,
    Observation,
    Scorecard,
    Source,
)
from .services.intake import (
    MAX_BATCH,
    Lookups,
    RowError,
    evaluation_record,
    feedback_ingest,
    observations_ingest,
)

RECORDING_ROLES = {Role.MANAGER, Role.ADMIN}


class CanRecordEvidence(permissions.BasePermission):
    """Anyone signed in may read (within their scope); only managers and admins may post."""

    message = (
        "Only managers and admins may record evidence through the API; "
        "a staff account can read its own records only."
    )

    def has_permission(self, request, view) -> bool:
        return request.method in permissions.SAFE_METHODS or role_of(request.user) in RECORDING_ROLES


# --- request bodies (documentation only: the intake service validates) -----------------------


class ObservationInputSerializer(serializers.Serializer):
    external_id = serializers.CharField(
        required=False, max_length=100, help_text="Your id for this fact: a resend is stored once."
    )
    standard = serializers.CharField(help_text="Code of an active or retired standard.")
    location = serializers.CharField(help_text="Location code, within your scope.")
    team = serializers.CharField(required=False, help_text="Name of a team at that location.")
    employee = serializers.CharField(required=False, help_text="Employee number of someone at that location.")
    touchpoint = serializers.CharField(required=False, help_text="Touchpoint slug.")
    source = serializers.ChoiceField(choices=Source.choices)
    observed_at = serializers.DateTimeField(
        help_text="ISO 8601; without an offset it is read in the organisation's time zone."
    )
    value = serializers.DecimalField(
        max_digits=12,
        decimal_places=3,
        coerce_to_string=False,
        required=False,
        allow_null=True,
        help_text="The measured value: required for rating (1–5) and numeric standards.",
    )
    passed = serializers.BooleanField(
        required=False,
        allow_null=True,
        help_text="Required for pass/fail standards; for the others it is computed and, if given, must agree.",
    )
    comment = serializers.CharField(required=False, allow_blank=True)


class EvaluationItemInputSerializer(serializers.Serializer):
    standard = serializers.CharField(help_text="Code of an active or retired standard.")
    passed = serializers.BooleanField(required=False, allow_null=True, help_text="For pass/fail standards.")
    value = serializers.DecimalField(
        max_digits=12,
        decimal_places=3,
        coerce_to_string=False,
        required=False,
        allow_null=True,
        help_text="For rating and numeric standards.",
    )
    weight = serializers.DecimalField(
        max_digits=5,
        decimal_places=2,
        coerce_to_string=False,
        required=False,
        help_text="Weight in the score; the standard's weight when left out.",
    )
    critical = serializers.BooleanField(
        required=False, default=False, help_text="Failing a critical item fails the whole evaluation."
    )
    comment = serializers.CharField(required=False, allow_blank=True)


class EvaluationInputSerializer(serializers.Serializer):
    external_id = serializers.CharField(
        required=False, max_length=100, help_text="Your id for this evaluation: a resend is stored once."
    )
    location = serializers.CharField(help_text="Location code, within your scope.")
    method = serializers.ChoiceField(choices=EvaluationMethod.choices)
    evaluated_at = serializers.DateTimeField(help_text="ISO 8601.")
    team = serializers.CharField(required=False, help_text="Name of a team at that location.")
    employee = serializers.CharField(required=False, help_text="Employee number.")
    touchpoint = serializers.CharField(required=False, help_text="Touchpoint slug.")
    comment = serializers.CharField(required=False, allow_blank=True)
    items = EvaluationItemInputSerializer(many=True, help_text="One item per standard checked; at least one.")


class FeedbackInputSerializer(serializers.Serializer):
    external_id = serializers.CharField(required=False, max_length=100, help_text="A resend is stored once.")
    touchpoint = serializers.CharField(help_text="Touchpoint slug.")
    location = serializers.CharField(help_text="Location code, within your scope.")
    submitted_at = serializers.DateTimeField(required=False, help_text="ISO 8601; now when left out.")
    csat = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=5)
    nps = serializers.IntegerField(required=False, allow_null=True, min_value=0, max_value=10)
    comment = serializers.CharField(required=False, allow_blank=True)
    channel = serializers.ChoiceField(
        choices=FeedbackChannel.choices, required=False, default=FeedbackChannel.API
    )
    contact_name = serializers.CharField(required=False, allow_blank=True)
    contact_email = serializers.EmailField(required=False, allow_blank=True)
    contact_consent = serializers.BooleanField(
        required=False, default=False, help_text="Contact details are kept only with consent."
    )


def _one_or_many(name: str, serializer: type[serializers.Serializer]) -> PolymorphicProxySerializer:
    return PolymorphicProxySerializer(
        component_name=name,
        serializers=[serializer, serializer(many=True)],
        resource_type_field_name=None,
        many=False,
    )


# --- responses -------------------------------------------------------------------------------


class ItemErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the item in the list sent, from 0.")
    field = serializers.CharField(
        help_text="The field at fault, e.g. `location` or `items[2].value`; `__all__` for the whole item."
    )
    message = serializers.CharField()


class IntakeErrorsSerializer(serializers.Serializer):
    detail = serializers.CharField()
    errors = ItemErrorSerializer(many=True)


class DetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


class IntakeResultSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField(
        help_text="Items whose external id was already stored: not stored again."
    )
    deviations = serializers.IntegerField(help_text="Deviations of non-negotiable standards recorded.")
    ids = serializers.ListField(child=serializers.IntegerField(), help_text="Ids of the records created.")


class EvaluationOutcomeSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField(allow_null=True)
    created = serializers.BooleanField(help_text="False when the external id was already stored.")
    score = serializers.DecimalField(max_digits=5, decimal_places=2)
    critical_failed = serializers.BooleanField()
    passed = serializers.BooleanField()
    observation_ids = serializers.ListField(child=serializers.IntegerField())


class EvaluationResultSerializer(IntakeResultSerializer):
    evaluations = EvaluationOutcomeSerializer(many=True, help_text="One per evaluation sent, in order.")


def _intake_responses(result: type[serializers.Serializer]) -> dict:
    return {
        201: OpenApiResponse(result, description="Stored (all items, or the new ones of a partial resend)."),
        200: OpenApiResponse(result, description="A full resend: every external id was already stored."),
        400: OpenApiResponse(
            IntakeErrorsSerializer, description="Bad items, each listed; nothing was saved."
        ),
        403: OpenApiResponse(DetailSerializer, description="Staff accounts may not record evidence."),
        413: OpenApiResponse(
            DetailSerializer,
            description=f"More than {MAX_BATCH:,} items in one call, or a body over "
            f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes; nothing was saved.",
        ),
        415: OpenApiResponse(DetailSerializer, description="The body is not sent as application/json."),
    }


# --- turning a request into items, and service results into responses ------------------------


class IntakeRefused(exceptions.APIException):
    """Nothing was stored; `payload` is sent as it is (DRF would turn item indexes into strings)."""

    def __init__(self, status_code: int, payload: dict[str, Any]):
        self.status_code = status_code
        self.detail = payload


def _refuse(message: str, code: int = status.HTTP_400_BAD_REQUEST) -> IntakeRefused:
    return IntakeRefused(code, {"detail": message})


def _too_many(what: str, count: int) -> IntakeRefused:
    return _refuse(
        f"A call holds at most {MAX_BATCH:,} items and this one has {count:,} {what}: nothing was saved; "
        "send them in smaller batches.",
        status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    )


def _bad_items(errors: list[RowError], detail: str | None = None) -> IntakeRefused:
    count = len({error.row for error in errors})
    return IntakeRefused(
        status.HTTP_400_BAD_REQUEST,
        {
            "detail": detail or f"{count} item{'s' if count != 1 else ''} with errors, so nothing was saved.",
            "errors": [{"index": e.row, "field": e.field, "message": e.message} for e in errors],
        },
    )


def _body_error(message: str) -> IntakeRefused:
    return _bad_items([RowError(0, "__all__", message)], detail=f"{message} Nothing was saved.")


def _body(request) -> Any:
    """The parsed JSON body; a body that is too large or not JSON is refused like a bad item."""
    try:
        return request.data
    except RequestDataTooBig:
        raise _refuse(
            f"The body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes: nothing was saved; "
            "send the items in smaller batches.",
            status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
        ) from None
    except exceptions.ParseError as error:
        raise _body_error(str(error.detail)) from None


def request_items(request) -> list[Mapping[str, Any]]:
    """The body as a list of items: a JSON object is one item, a JSON list a batch (≤ MAX_BATCH).
    Whatever else the body is, it is reported as item 0, so every 400 has the same shape."""
    data = _body(request)
    items = [data] if isinstance(data, Mapping) else data
    if not isinstance(items, list):
        raise _body_error("Send a JSON object or a list of JSON objects.")
    if not items:
        raise _body_error("The list is empty: send at least one item.")
    if len(items) > MAX_BATCH:
        raise _too_many("items", len(items))
    not_objects = [
        RowError(index, "__all__", "Each item must be a JSON object.")
        for index, item in enumerate(items)
        if not isinstance(item, Mapping)
    ]
    if not_objects:
        raise _bad_items(not_objects)
    return items


def stored(payload: dict[str, Any]) -> Response:
    """201 when something new was stored; 200 for a full resend (every item a duplicate)."""
    return Response(payload, status=status.HTTP_201_CREATED if payload["created"] else status.HTTP_200_OK)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


class PostingScope:
    """The locations a caller may record evidence for: all for admins, else `location_queryset_for`."""

    def __init__(self, user):
        # The locations outside the scope, by upper-case code and by id; none for admins.
        self.hidden_codes: set[str] = set()
        self.hidden_ids: set[int] = set()
        if role_of(user) != Role.ADMIN:
            allowed = location_queryset_for(user, Location.objects.all()).values("pk")
            for pk, code in Location.objects.exclude(pk__in=allowed).values_list("pk", "code"):
                self.hidden_codes.add(code.upper())
                self.hidden_ids.add(pk)

    def excludes(self, location_code: Any) -> bool:
        return _text(location_code).upper() in self.hidden_codes

    def excludes_id(self, location_id: int) -> bool:
        return location_id in self.hidden_ids

    @staticmethod
    def error(row: int, location_code: Any) -> RowError:
        return RowError(
            row,
            "location",
            f"Location {_text(location_code)} is outside your scope: "
            "you may record evidence only for the locations you manage.",
        )

    def lookups(self) -> Lookups:
        """The intake service's reference data without the locations outside the scope, so the
        service can never store evidence for them."""
        lookups = Lookups.load()
        if not self.hidden_ids:
            return lookups
        visible = {code: pk for code, pk in lookups.locations.items() if pk not in self.hidden_ids}
        return replace(lookups, locations=visible)

    def explain(self, items: list[Mapping[str, Any]], errors: list[RowError]) -> list[RowError]:
        """The service's errors, where an out-of-scope location (unknown to the service through
        `lookups`) is reported as outside the scope rather than as unknown."""
        return [
            self.error(e.row, items[e.row].get("location"))
            if e.field == "location" and self.excludes(items[e.row].get("location"))
            else e
            for e in errors
        ]


# The evaluation's own fields that `evaluation_record` copies into every item: an item's error
# on one of them is the evaluation's error (reported once), under the API's field name.
EVALUATION_WIDE_FIELDS = {
    "location": "location",
    "team": "team",
    "employee": "employee",
    "touchpoint": "touchpoint",
    "observed_at": "evaluated_at",
}


def _evaluation_errors(index: int, errors: list[RowError]) -> list[RowError]:
    """`evaluation_record` numbers the evaluation 0 and its items from 1; the API reports them
    all under the evaluation's index, with item fields as `items[i].field` (i from 0)."""
    found: dict[tuple[str, str], RowError] = {}
    for error in errors:
        if error.row == 0:
            field = error.field
        elif error.field == "source":
            continue  # the source is the method, whose error the evaluation reports itself
        elif error.field in EVALUATION_WIDE_FIELDS:
            field = EVALUATION_WIDE_FIELDS[error.field]
        else:
            field = f"items[{error.row - 1}].{error.field}"
        found.setdefault((field, error.message), RowError(index, field, error.message))
    return list(found.values())


# Records an evaluation sent as a template version with answers (an audit) instead of items:
# (index, raw, user, scope) → (EvaluationOutcome or None, errors). The audit programme sits on
# top of measurement, so it hands its recorder in (see audits.api) rather than being imported.
AuditRecorder = Callable[[int, Mapping[str, Any], Any, "PostingScope"], tuple[Any, list[RowError]]]
AUDIT_KEYS = ("template", "answers")


def is_audit(raw: Mapping[str, Any]) -> bool:
    """An evaluation sent with a template and answers rather than with items."""
    return any(key in raw for key in AUDIT_KEYS)


def evaluations_record(
    items: list[Mapping[str, Any]], *, user, scope: PostingScope, audit_recorder: AuditRecorder | None = None
) -> dict[str, Any]:
    """Record a list of evaluations through `evaluation_record`, all or nothing.

    Every evaluation is checked (and the valid ones written) inside one transaction, which is
    rolled back if any of them is bad: IntakeRefused then lists every error. Returns the
    response payload otherwise. An evaluation with `template` and `answers` goes to
    `audit_recorder`, in the same transaction.
    """
    total = sum(len(item["items"]) for item in items if isinstance(item.get("items"), list))
    total += sum(len(item["answers"]) for item in items if isinstance(item.get("answers"), list))
    if total > MAX_BATCH:
        raise _too_many(f"evaluation items in {len(items):,} evaluations", total)
    outcomes, errors, seen = [], [], {}
    lookups = Lookups.load()  # once for the whole batch; scope is checked per evaluation below
    with transaction.atomic():
        for index, raw in enumerate(items):
            problems = _evaluation_shape_errors(index, raw, scope)
            external_id = _text(raw.get("external_id")) or None
            if external_id and external_id in seen:
                problems.append(
                    RowError(index, "external_id", f"Repeats the external id of item {seen[external_id]}.")
                )
            elif external_id:
                seen[external_id] = index
            if is_audit(raw):
                outcome, audit_errors = _audit_record(index, raw, user, scope, audit_recorder, problems)
                errors.extend(audit_errors)
                if outcome is not None:
                    outcomes.append(outcome)
                continue
            if problems:
                errors.extend(problems)
                continue
            outcome = evaluation_record(
                location=_text(raw.get("location")),
                method=_text(raw.get("method")),
                evaluated_at=_text(raw.get("evaluated_at")),
                items=raw["items"],
                team=_text(raw.get("team")),
                employee=_text(raw.get("employee")),
                touchpoint=_text(raw.get("touchpoint")),
                comment=_text(raw.get("comment")),
                external_id=external_id,
                evaluator=user,
                lookups=lookups,
            )
            errors.extend(_evaluation_errors(index, outcome.errors))
            if outcome.evaluation is not None and scope.excludes_id(outcome.evaluation.location_id):
                # A resend of an external id that belongs to an evaluation elsewhere.
                errors.append(
                    RowError(index, "external_id", "This external id belongs to another evaluation.")
                )
            outcomes.append(outcome)
        if errors:
            raise _bad_items(errors)
    return _evaluations_payload([o.evaluation for o in outcomes], [o.created for o in outcomes])


def _audit_record(index, raw, user, scope, audit_recorder, problems):
    """An audit's evaluation: its own recorder checks the answers; the shared checks (scope,
    external id) are the same as for items."""
    problems = [p for p in problems if not p.field.startswith("items")]
    if audit_recorder is None:
        return None, [RowError(index, "template", "Audits cannot be recorded here: send items instead.")]
    if "items" in raw:
        problems.append(RowError(index, "items", "Send either items or a template with answers, not both."))
    if problems:
        return None, problems
    return audit_recorder(index, raw, user, scope)


def _evaluation_shape_errors(index: int, raw: Mapping[str, Any], scope: PostingScope) -> list[RowError]:
    errors = []
    if scope.excludes(raw.get("location")):
        errors.append(scope.error(index, raw.get("location")))
    if len(_text(raw.get("external_id"))) > 100:
        errors.append(RowError(index, "external_id", "At most 100 characters."))
    if is_audit(raw):
        return errors  # the answers are the audit recorder's to check
    entries = raw.get("items")
    if not isinstance(entries, list):
        errors.append(RowError(index, "items", "Give the items checked as a list of JSON objects."))
    else:
        errors += [
            RowError(index, f"items[{number}]", "Each item must be a JSON object.")
            for number, entry in enumerate(entries)
            if not isinstance(entry, Mapping)
        ]
    return errors


def _evaluations_payload(evaluations: list[Evaluation], created: list[bool]) -> dict[str, Any]:
    ids = [evaluation.pk for evaluation in evaluations]
    new_ids = [pk for pk, is_new in zip(ids, created, strict=True) if is_new]
    items: dict[int, list[int]] = {pk: [] for pk in ids}
    for evaluation_id, pk in (
        Observation.objects.filter(evaluation_id__in=ids).order_by("pk").values_list("evaluation_id", "pk")
    ):
        items[evaluation_id].append(pk)
    return {
        "created": len(new_ids),
        "duplicates": len(ids) - len(new_ids),
        "deviations": Deviation.objects.filter(observation__evaluation_id__in=new_ids).count(),
        "ids": new_ids,
        "evaluations": [
            {
                "id": evaluation.pk,
                "external_id": evaluation.external_id,
                "created": is_new,
                "score": evaluation.score,
                "critical_failed": evaluation.critical_failed,
                "passed": evaluation.passed,
                "observation_ids": items[evaluation.pk],
            }
            for evaluation, is_new in zip(evaluations, created, strict=True)
        ],
    }


# --- what GET returns --------------------------------------------------------------------------
# References come as the codes a sending system uses (the same as in a POST) and as ids.


class ObservationSerializer(serializers.ModelSerializer):
    standard = serializers.CharField(source="standard.code", read_only=True)
    location = serializers.CharField(source="location.code", read_only=True)
    team = serializers.CharField(source="team.name", read_only=True, allow_null=True)
    employee = serializers.CharField(source="employee.employee_number", read_only=True, allow_null=True)
    touchpoint = serializers.CharField(source="touchpoint.slug", read_only=True, allow_null=True)

    class Meta:
        model = Observation
        fields = [
            "id",
            "external_id",
            "standard",
            "standard_id",
            "location",
            "location_id",
            "team",
            "team_id",
            "employee",
            "employee_id",
            "touchpoint",
            "touchpoint_id",
            "source",
            "observed_at",
            "value",
            "passed",
            "weight",
            "critical",
            "comment",
            "evaluation_id",
            "supersedes_id",
            "recorded_at",
        ]
        read_only_fields = fields


class EvaluationSerializer(serializers.ModelSerializer):
    location = serializers.CharField(source="location.code", read_only=True)
    team = serializers.CharField(source="team.name", read_only=True, allow_null=True)
    employee = serializers.CharField(source="employee.employee_number", read_only=True, allow_null=True)
    touchpoint = serializers.CharField(source="touchpoint.slug", read_only=True, allow_null=True)
    observation_ids = serializers.PrimaryKeyRelatedField(source="observations", many=True, read_only=True)

    class Meta:
        model = Evaluation
        fields = [
            "id",
            "external_id",
            "location",
            "location_id",
            "team",
            "team_id",
            "employee",
            "employee_id",
            "touchpoint",
            "touchpoint_id",
            "method",
            "evaluated_at",
            "score",
            "critical_failed",
            "passed",
            "comment",
            "observation_ids",
            "recorded_at",
        ]
        read_only_fields = fields


class FeedbackSerializer(serializers.ModelSerializer):
    touchpoint = serializers.CharField(source="touchpoint.slug", read_only=True)
    location = serializers.CharField(source="location.code", read_only=True)
    # Not `format: email`: it is empty when the customer left none.
    contact_email = serializers.CharField(read_only=True, help_text="Empty when the customer left none.")

    class Meta:
        model = Feedback
        fields = [
            "id",
            "external_id",
            "touchpoint",
            "touchpoint_id",
            "location",
            "location_id",
            "submitted_at",
            "csat",
            "nps",
            "comment",
            "channel",
            "contact_name",
            "contact_email",
            "contact_consent",
            "recorded_at",
        ]
        read_only_fields = fields


class ScorecardSerializer(serializers.ModelSerializer):
    location = serializers.CharField(source="location.code", read_only=True, allow_null=True)
    team = serializers.CharField(source="team.name", read_only=True, allow_null=True)
    employee = serializers.CharField(source="employee.employee_number", read_only=True, allow_null=True)
    standard = serializers.CharField(source="standard.code", read_only=True, allow_null=True)
    touchpoint = serializers.CharField(source="touchpoint.slug", read_only=True, allow_null=True)

    class Meta:
        model = Scorecard
        fields = [
            "id",
            "period_kind",
            "period_start",
            "grain",
            "grain_key",
            "location",
            "location_id",
            "team",
            "team_id",
            "employee",
            "employee_id",
            "standard",
            "standard_id",
            "touchpoint",
            "touchpoint_id",
            "observations",
            "passed",
            "pass_rate",
            "pass_rate_low",
            "pass_rate_high",
            "mean_value",
            "target_rate",
            "target_met",
            "deviations",
            "feedback_count",
            "csat_n",
            "csat",
            "nps_n",
            "nps",
            "nps_low",
            "nps_high",
            "computed_at",
        ]
        read_only_fields = fields


# --- views -------------------------------------------------------------------------------------


class ScopedReadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List and detail of `base_queryset()` narrowed by `scope_queryset`: outside the scope is 404.
    Lists are keyset pages in `keyset_ordering` (see `servicedesk.pagination.Keyset`)."""

    pagination_class = Keyset
    keyset_ordering: tuple[str, ...] = ()
    permission_classes = [permissions.IsAuthenticated, CanRecordEvidence]
    parser_classes = [JSONParser]  # items are JSON objects; forms could not express a batch
    # Any path segment reaches the view, so a malformed id is a JSON 404 like an unknown one.
    lookup_value_regex = "[^/]+"

    input_serializer_class: type[serializers.Serializer] | None = None  # documents a POST item

    def base_queryset(self):
        raise NotImplementedError

    def get_queryset(self):
        return scope_queryset(self.request.user, self.base_queryset())

    def get_serializer_class(self):
        # The browsable API's POST form shows the fields of one item to send.
        if self.input_serializer_class and self.request and self.request.method == "POST":
            return self.input_serializer_class
        return super().get_serializer_class()


def _intake_payload(result) -> dict:
    """The response to a stored batch of observations or feedback (feedback makes no deviations)."""
    return {
        "created": result.created,
        "duplicates": result.duplicates,
        "deviations": result.deviations,
        "ids": result.created_ids,
    }


@extend_schema_view(
    create=extend_schema(
        summary="Record observations",
        request=_one_or_many("ObservationBatch", ObservationInputSerializer),
        responses=_intake_responses(IntakeResultSerializer),
    )
)
class ObservationViewSet(ScopedReadViewSet):
    """Observations: one measured fact about one standard. POST one object or a list, all or nothing."""

    serializer_class = ObservationSerializer
    input_serializer_class = ObservationInputSerializer
    filterset_class = ObservationFilter
    queryset = Observation.objects.none()  # the model, for the schema; requests use get_queryset
    keyset_ordering = ("-observed_at", "-id")  # observation_observed_idx, then the pk within a time

    def base_queryset(self):
        return Observation.objects.select_related("standard", "location", "team", "employee", "touchpoint")

    def create(self, request, *args, **kwargs):
        items = request_items(request)
        scope = PostingScope(request.user)
        result = observations_ingest(
            enumerate(items), recorded_by=request.user, lookups=scope.lookups(), max_rows=MAX_BATCH
        )
        if result.errors:
            raise _bad_items(scope.explain(items, result.errors))
        return stored(_intake_payload(result))


@extend_schema_view(
    create=extend_schema(
        summary="Record evaluations (mystery shops, QA reviews, audits)",
        request=_one_or_many("EvaluationBatch", EvaluationInputSerializer),
        responses=_intake_responses(EvaluationResultSerializer),
    )
)
class EvaluationViewSet(ScopedReadViewSet):
    """Evaluations with their weighted score; a failed critical item fails the whole evaluation."""

    serializer_class = EvaluationSerializer
    input_serializer_class = EvaluationInputSerializer
    filterset_class = EvaluationFilter
    queryset = Evaluation.objects.none()
    # No index starts with evaluated_at: the default window bounds what is sorted.
    keyset_ordering = ("-evaluated_at", "-id")

    def base_queryset(self):
        return Evaluation.objects.select_related(
            "location", "team", "employee", "touchpoint"
        ).prefetch_related(Prefetch("observations", queryset=Observation.objects.only("pk", "evaluation_id")))

    audit_recorder: AuditRecorder | None = None  # set where audits are accepted too (audits.api)

    def create(self, request, *args, **kwargs):
        items = request_items(request)
        payload = evaluations_record(
            items, user=request.user, scope=PostingScope(request.user), audit_recorder=self.audit_recorder
        )
        return stored(EvaluationResultSerializer(payload).data)


@extend_schema_view(
    create=extend_schema(
        summary="Record customer feedback",
        request=_one_or_many("FeedbackBatch", FeedbackInputSerializer),
        responses=_intake_responses(IntakeResultSerializer),
    )
)
class FeedbackViewSet(ScopedReadViewSet):
    """Customer feedback: CSAT (1–5), NPS (0–10) and comments, per touchpoint and location."""

    serializer_class = FeedbackSerializer
    input_serializer_class = FeedbackInputSerializer
    filterset_class = FeedbackFilter
    queryset = Feedback.objects.none()
    # feedback_location_idx serves a location's list; the default window bounds the rest.
    keyset_ordering = ("-submitted_at", "-id")

    def base_queryset(self):
        return Feedback.objects.select_related("touchpoint", "location")

    def create(self, request, *args, **kwargs):
        items = request_items(request)
        scope = PostingScope(request.user)
        result = feedback_ingest(enumerate(items), lookups=scope.lookups(), max_rows=MAX_BATCH)
        if result.errors:
            raise _bad_items(scope.explain(items, result.errors))
        return stored(_intake_payload(result))


class ScorecardViewSet(ScopedReadViewSet):
    """Scorecards written by the rollup: one per period and grain (location, team, employee, …),
    listed per period kind (week, quarter, month, day), newest period first."""

    serializer_class = ScorecardSerializer
    filterset_class = ScorecardFilter
    queryset = Scorecard.objects.none()
    # The order of the unique key scorecard_one_per_grain, read backwards: a page is an index
    # range, never a sort of millions of scorecards.
    keyset_ordering = ("-period_kind", "-period_start", "-grain", "-grain_key")

    def base_queryset(self):
        return Scorecard.objects.select_related("location", "team", "employee", "standard", "touchpoint")

    def get_queryset(self):
        """The scope, and for a manager the same scope again on the scorecard's own columns.

        The scope reaches team and employee rows through their team's or employee's location, a
        join tested on every row the backward index walk passes (48,000 rows for a page of one
        location's at a million observations). Beside it, the ids of the manager's locations, of
        the teams and employees there, of their own teams and of themselves, read off the row
        alone (hashed subqueries, no extra round trip), so the join is only made for the rows
        kept. A superset of the scope: the scope still decides what is seen."""
        scorecards = super().get_queryset()
        user = self.request.user
        if role_of(user) != Role.MANAGER:
            return scorecards
        locations = managed_location_ids(user)
        return scorecards.filter(
            Q(location__in=locations)
            | Q(team__in=Team.objects.filter(location__in=locations).values("pk"))
            | Q(team__in=managed_team_ids(user))
            | Q(employee__in=Employee.objects.filter(location__in=locations).values("pk"))
            | Q(employee=employee_of(user).pk)
        )
