"""REST API for customer cases: /api/v1/cases/ for contact-centre and CRM systems.

    GET  /api/v1/cases/                   cases in the caller's scope, open ones due soonest first
    GET  /api/v1/cases/{id}/              one case with its timeline
    POST /api/v1/cases/                   log a complaint (idempotent by external_id)
    POST /api/v1/cases/{id}/transition/   move it to another status
    POST /api/v1/cases/{id}/notes/        add an internal note

Scope is the pages' (`cases.selectors.cases_visible_to`): staff see the cases they own or logged,
managers those of their locations and teams, admins all; a case outside it answers 404. The
customer's contact details are shown only to whom `may_see_contact` allows. Logging a complaint is
for managers and admins, as recording evidence is; moving a case is for its owner and managers in
scope (`cases.services.core`), and anyone who sees a case may add a note.
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Case as Choose
from django.db.models import DateTimeField, F, IntegerField, Q, Value, When
from django.db.models.functions import Coalesce, Least
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from measurement.filters import day_after, day_start
from organization.api import StrictFilterSet, TextFilter
from organization.models import Location, Role
from organization.scope import employee_of, location_queryset_for, role_of
from servicedesk.api_schema import ErrorDetailSerializer
from touchpoints.models import Touchpoint

from .models import (
    COMPLAINT_ORIGINS,
    OPEN_STATUSES,
    UNACKNOWLEDGED_STATUSES,
    Case,
    CaseCategory,
    CaseEvent,
    CaseOrigin,
    CaseStatus,
    Severity,
)
from .selectors import cases_visible_to
from .services.core import case_note_add, case_transition, may_see_contact
from .services.intake import case_open_from_system
from .services.loop import case_resolve

POSTING_ROLES = {Role.MANAGER, Role.ADMIN}
API_ORIGINS = [(CaseOrigin.API.value, CaseOrigin.API.label)] + [
    (origin.value, origin.label) for origin in COMPLAINT_ORIGINS
]
# "The field is wrong" answers: DRF's shape, {field: [message, …]}, or {"detail": message}.
FIELD_ERRORS = {
    "type": "object",
    "additionalProperties": {
        "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string"}],
    },
    "description": "For each field at fault, what is wrong with it; `detail` for the body as a whole.",
}
NO_NUL = "^[^\\u0000]*$"
SOME_TEXT = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"


def next_due():
    """The deadline still running: acknowledgement (or resolution, whichever comes first) while the
    case is new, resolution while it is open, none once resolved or closed. Coalesce because SQLite's
    MIN() of a NULL is NULL where PostgreSQL's LEAST() skips it."""
    acknowledge, resolve = F("acknowledge_due_at"), F("resolve_due_at")
    return Choose(
        When(
            status__in=UNACKNOWLEDGED_STATUSES,
            then=Least(Coalesce(acknowledge, resolve), Coalesce(resolve, acknowledge)),
        ),
        When(status__in=OPEN_STATUSES, then=resolve),
        default=Value(None, output_field=DateTimeField()),
        output_field=DateTimeField(),
    )


class CanLogComplaints(permissions.BasePermission):
    """Anyone signed in may read, note and (if theirs) move cases; logging one is for managers and admins."""

    message = (
        "Only managers and admins may log complaints through the API; "
        "staff log them on the complaint page, where they own what they take."
    )

    def has_permission(self, request, view) -> bool:
        return view.action != "create" or role_of(request.user) in POSTING_ROLES


class ContactAccess:
    """`may_see_contact` for the cases of one request, without a query per case.

    Every case an API request reaches is in the caller's scope, and within it `may_see_contact`
    comes down to: admins and managers always, others when they own the case."""

    def __init__(self, user):
        self.role = role_of(user)
        employee = employee_of(user)
        self.employee_id = employee.pk if employee else None

    def allows(self, case: Case) -> bool:
        if self.role in POSTING_ROLES:
            return True
        return self.employee_id is not None and case.owner_id == self.employee_id


# --- filters ---------------------------------------------------------------------------------


class CaseFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=CaseStatus.choices)
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    location = TextFilter(field_name="location__code", lookup_expr="iexact", help_text="Location code.")
    owner = TextFilter(
        field_name="owner__employee_number", lookup_expr="iexact", help_text="Employee number of the owner."
    )
    open = django_filters.BooleanFilter(
        method="filter_open", help_text="true: new, acknowledged, in progress or reopened; false: the others."
    )
    breached = django_filters.BooleanFilter(
        method="filter_breached",
        help_text="true: open cases past the deadline that is running (acknowledge, then resolve).",
    )
    opened_from = django_filters.DateFilter(
        method="filter_opened_from", help_text="Opened on or after this day (organisation's time zone)."
    )
    opened_to = django_filters.DateFilter(
        method="filter_opened_to", help_text="Opened on or before this day, the whole day included."
    )

    class Meta(StrictFilterSet.Meta):
        model = Case
        fields = []

    def filter_open(self, queryset, name, value):
        return (
            queryset.filter(status__in=OPEN_STATUSES) if value else queryset.exclude(status__in=OPEN_STATUSES)
        )

    def filter_opened_from(self, queryset, name, value):
        return queryset.filter(opened_at__gte=day_start(value))

    def filter_opened_to(self, queryset, name, value):
        return queryset.filter(opened_at__lt=day_start(day_after(value)))

    def filter_breached(self, queryset, name, value):
        late = Q(next_due_at__lt=timezone.now())
        return queryset.filter(late) if value else queryset.exclude(late)


# --- what GET returns --------------------------------------------------------------------------


class ContactSerializer(serializers.Serializer):
    name = serializers.CharField()
    email = serializers.CharField(help_text="Empty when the customer left none.")
    phone = serializers.CharField()


class CaseEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(
        source="actor.username", read_only=True, allow_null=True, help_text="Null for the system."
    )
    recipient = serializers.SerializerMethodField(
        help_text="Who a message or escalation went to; null when you may not see the customer's details."
    )

    class Meta:
        model = CaseEvent
        fields = ["id", "at", "kind", "actor", "from_status", "to_status", "text", "recipient"]
        read_only_fields = fields

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_recipient(self, event: CaseEvent) -> str | None:
        return event.recipient if self.context.get("contact_visible") else None


class CaseSerializer(serializers.ModelSerializer):
    reference = serializers.CharField(read_only=True, help_text="The number people quote, e.g. C-000042.")
    location = serializers.CharField(source="location.code", read_only=True)
    touchpoint = serializers.CharField(source="touchpoint.slug", read_only=True, allow_null=True)
    team = serializers.CharField(source="team.name", read_only=True, allow_null=True)
    category = serializers.CharField(source="category.name", read_only=True, allow_null=True)
    owner = serializers.CharField(
        source="owner.employee_number", read_only=True, allow_null=True, help_text="Employee number."
    )
    logged_by = serializers.CharField(source="logged_by.employee_number", read_only=True, allow_null=True)
    next_due_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="The deadline running now; null once resolved or closed."
    )
    breached = serializers.SerializerMethodField(help_text="Open and past the deadline running now.")
    contact = serializers.SerializerMethodField(
        help_text="The customer's details: only with their consent, and only for the case's owner, "
        "managers in scope and admins; null otherwise."
    )

    class Meta:
        model = Case
        fields = [
            "id",
            "reference",
            "external_id",
            "title",
            "description",
            "origin",
            "status",
            "severity",
            "location",
            "location_id",
            "touchpoint",
            "touchpoint_id",
            "team",
            "team_id",
            "category",
            "category_id",
            "owner",
            "owner_id",
            "logged_by",
            "logged_by_id",
            "feedback_id",
            "rule_id",
            "opened_at",
            "acknowledged_at",
            "resolved_at",
            "closed_at",
            "acknowledge_due_at",
            "resolve_due_at",
            "next_due_at",
            "breached",
            "escalation_level",
            "resolution_summary",
            "action_id",
            "recovered",
            "contact_consent",
            "contact",
        ]
        read_only_fields = fields

    def get_breached(self, case: Case) -> bool:
        due = getattr(case, "next_due_at", None)
        return due is not None and due < self.context["now"]

    @extend_schema_field(ContactSerializer(allow_null=True))
    def get_contact(self, case: Case) -> dict | None:
        if not self.context["contact_access"].allows(case):
            return None
        return {"name": case.contact_name, "email": case.contact_email, "phone": case.contact_phone}


class CaseDetailSerializer(CaseSerializer):
    events = serializers.SerializerMethodField(help_text="The timeline, oldest first.")

    class Meta(CaseSerializer.Meta):
        fields = [*CaseSerializer.Meta.fields, "events"]
        read_only_fields = fields

    @extend_schema_field(CaseEventSerializer(many=True))
    def get_events(self, case: Case) -> list[dict]:
        context = {**self.context, "contact_visible": self.context["contact_access"].allows(case)}
        events = case.events.select_related("actor").order_by("at", "pk")
        return CaseEventSerializer(events, many=True, context=context).data


# --- request bodies ----------------------------------------------------------------------------


class CaseInputSerializer(serializers.Serializer):
    external_id = serializers.RegexField(
        NO_NUL,
        required=False,
        allow_null=True,
        max_length=100,
        help_text="Your id for this complaint: a resend returns the stored case (200), never a second one.",
    )
    location = serializers.RegexField(NO_NUL, max_length=20, help_text="Location code, within your scope.")
    touchpoint = serializers.RegexField(
        NO_NUL, required=False, allow_blank=True, help_text="Touchpoint slug."
    )
    title = serializers.RegexField(
        SOME_TEXT, max_length=Case._meta.get_field("title").max_length, help_text="The problem in a line."
    )
    description = serializers.RegexField(NO_NUL, required=False, allow_blank=True, trim_whitespace=False)
    origin = serializers.ChoiceField(
        choices=API_ORIGINS, required=False, default=CaseOrigin.API, help_text="How the customer reached you."
    )
    severity = serializers.ChoiceField(choices=Severity.choices, required=False, default=Severity.NORMAL)
    category = serializers.RegexField(
        NO_NUL, required=False, allow_blank=True, help_text="Name of an active case category."
    )
    contact_name = serializers.RegexField(
        NO_NUL, required=False, allow_blank=True, max_length=Case._meta.get_field("contact_name").max_length
    )
    contact_email = serializers.EmailField(
        required=False, allow_blank=True, max_length=Case._meta.get_field("contact_email").max_length
    )
    contact_phone = serializers.RegexField(
        NO_NUL, required=False, allow_blank=True, max_length=Case._meta.get_field("contact_phone").max_length
    )
    contact_consent = serializers.BooleanField(
        required=False, default=False, help_text="Contact details are kept only with the customer's consent."
    )

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def validate_location(self, code: str) -> Location:
        location = Location.objects.filter(code__iexact=code).first()
        if location is None:
            raise serializers.ValidationError(f"No location has the code “{code}”.")
        if not location_queryset_for(self.user, Location.objects.filter(pk=location.pk)).exists():
            raise serializers.ValidationError(
                f"Location {location.code} is outside your scope: log complaints for the locations you manage."
            )
        if not location.active:
            raise serializers.ValidationError(f"Location {location.code} is no longer active.")
        return location

    def validate_touchpoint(self, slug: str) -> Touchpoint | None:
        if not slug:
            return None
        touchpoint = Touchpoint.objects.filter(slug=slug).first()
        if touchpoint is None:
            raise serializers.ValidationError(f"No touchpoint has the slug “{slug}”.")
        return touchpoint

    def validate_category(self, name: str) -> CaseCategory | None:
        if not name:
            return None
        category = CaseCategory.objects.filter(name__iexact=name, active=True).first()
        if category is None:
            raise serializers.ValidationError(f"No active case category is called “{name}”.")
        return category


class TransitionInputSerializer(serializers.Serializer):
    to = serializers.ChoiceField(choices=CaseStatus.choices, help_text="The status the case moves to.")
    note = serializers.RegexField(
        NO_NUL, required=False, allow_blank=True, help_text="An internal note kept on the timeline."
    )
    summary = serializers.RegexField(
        NO_NUL,
        required=False,
        allow_blank=True,
        help_text="What was done for the customer: required to resolve.",
    )


class NoteInputSerializer(serializers.Serializer):
    text = serializers.RegexField(SOME_TEXT, help_text="The note (internal: never shown to the customer).")


# --- schema ------------------------------------------------------------------------------------

BAD_FIELDS = OpenApiResponse(FIELD_ERRORS, description="A field is missing or invalid; nothing was changed.")
NOT_JSON = OpenApiResponse(ErrorDetailSerializer, description="The body is not sent as application/json.")
COMPLAINT_EXAMPLE = OpenApiExample(
    "A complaint taken by the contact centre",
    value={
        "external_id": "crm-20260302-0042",
        "location": "MAN-01",
        "touchpoint": "checkout-till",
        "title": "Charged twice for one order",
        "description": "Customer phoned: two card payments for order 1187 on Saturday.",
        "origin": "phone",
        "severity": "high",
        "category": "Billing error",
        "contact_name": "Ann Lee",
        "contact_email": "ann.lee@example.com",
        "contact_phone": "+44 161 496 0000",
        "contact_consent": True,
    },
    request_only=True,
)
CASE_EXAMPLE = OpenApiExample(
    "A new case",
    value={
        "id": 42,
        "reference": "C-000042",
        "external_id": "crm-20260302-0042",
        "title": "Charged twice for one order",
        "description": "Customer phoned: two card payments for order 1187 on Saturday.",
        "origin": "phone",
        "status": "new",
        "severity": "high",
        "location": "MAN-01",
        "location_id": 3,
        "touchpoint": "checkout-till",
        "touchpoint_id": 5,
        "team": None,
        "team_id": None,
        "category": "Billing error",
        "category_id": 2,
        "owner": "E00017",
        "owner_id": 17,
        "logged_by": None,
        "logged_by_id": None,
        "feedback_id": None,
        "rule_id": None,
        "opened_at": "2026-03-02T09:30:00Z",
        "acknowledged_at": None,
        "resolved_at": None,
        "closed_at": None,
        "acknowledge_due_at": "2026-03-02T13:30:00Z",
        "resolve_due_at": "2026-03-05T09:30:00Z",
        "next_due_at": "2026-03-02T13:30:00Z",
        "breached": False,
        "escalation_level": 0,
        "resolution_summary": "",
        "action_id": None,
        "recovered": None,
        "contact_consent": True,
        "contact": {"name": "Ann Lee", "email": "ann.lee@example.com", "phone": "+44 161 496 0000"},
        "events": [
            {
                "id": 90,
                "at": "2026-03-02T09:30:00Z",
                "kind": "opened",
                "actor": "crm-integration",
                "from_status": "",
                "to_status": "new",
                "text": "",
                "recipient": "",
            }
        ],
    },
    response_only=True,
)


@extend_schema_view(
    list=extend_schema(
        summary="List cases",
        description="Cases in your scope: open ones first, the soonest deadline first; then the others, "
        "newest first.",
    ),
    retrieve=extend_schema(summary="One case with its timeline", examples=[CASE_EXAMPLE]),
    create=extend_schema(
        summary="Log a complaint",
        request=CaseInputSerializer,
        examples=[COMPLAINT_EXAMPLE, CASE_EXAMPLE],
        responses={
            201: OpenApiResponse(CaseDetailSerializer, description="The case was opened."),
            200: OpenApiResponse(
                CaseDetailSerializer, description="A resend: the case already stored under this external_id."
            ),
            400: BAD_FIELDS,
            403: OpenApiResponse(
                ErrorDetailSerializer, description="Staff accounts may not log complaints here."
            ),
            415: NOT_JSON,
        },
    ),
)
class CaseViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Customer cases: one customer's problem, owned by a person, on an SLA clock."""

    serializer_class = CaseSerializer
    permission_classes = [permissions.IsAuthenticated, CanLogComplaints]
    parser_classes = [JSONParser]
    filterset_class = CaseFilter
    # Any path segment reaches the view, so a malformed id is a JSON 404 like an unknown one.
    lookup_value_regex = "[^/]+"
    queryset = Case.objects.none()  # the model, for the schema; requests use get_queryset

    def get_queryset(self):
        running = Choose(
            When(status__in=OPEN_STATUSES, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
        return (
            cases_visible_to(self.request.user)
            .select_related("location", "touchpoint", "team", "category", "owner", "logged_by")
            .annotate(next_due_at=next_due(), running=running)
            .order_by("running", F("next_due_at").asc(nulls_last=True), "-opened_at", "-pk")
        )

    def get_serializer_class(self):
        if self.action == "list":
            return CaseSerializer
        if self.request is not None and self.request.method == "POST":
            # The browsable API's form shows the body to send.
            return {"create": CaseInputSerializer, "transition": TransitionInputSerializer}.get(
                self.action, NoteInputSerializer
            )
        return CaseDetailSerializer

    def get_serializer_context(self):
        return {
            **super().get_serializer_context(),
            "now": timezone.now(),
            "contact_access": ContactAccess(self.request.user),
        }

    def _detail(self, case: Case, code: int = status.HTTP_200_OK) -> Response:
        # Re-read through the scope, for the annotations of the list and its deadlines.
        case = self.get_queryset().get(pk=case.pk)
        return Response(CaseDetailSerializer(case, context=self.get_serializer_context()).data, status=code)

    def create(self, request, *args, **kwargs):
        body = CaseInputSerializer(data=request.data, user=request.user)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            case, created = case_open_from_system(
                user=request.user,
                location=data["location"],
                title=data["title"],
                external_id=data.get("external_id") or None,
                origin=data["origin"],
                severity=data["severity"],
                touchpoint=data.get("touchpoint"),
                category=data.get("category"),
                description=data.get("description", ""),
                contact_name=data.get("contact_name", ""),
                contact_email=data.get("contact_email", ""),
                contact_phone=data.get("contact_phone", ""),
                contact_consent=data["contact_consent"],
            )
        except DjangoValidationError as error:
            raise _bad_fields(error) from None
        return self._detail(case, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        summary="Move a case to another status",
        description="Allowed moves: new → acknowledged, in progress or resolved; acknowledged → in progress or "
        "resolved; in progress → resolved; resolved → closed or reopened; closed → reopened; reopened → in "
        "progress or resolved. Resolving needs a `summary`. Any other move answers 400, saying which moves "
        "the case's status allows. Only the case's owner, managers in scope and admins may move it (403).",
        request=TransitionInputSerializer,
        examples=[
            OpenApiExample(
                "Resolve",
                value={"to": "resolved", "summary": "Refunded the second payment.", "note": "Card ref 5521."},
                request_only=True,
            ),
            OpenApiExample(
                "Refused",
                value={
                    "to": [
                        "A case that is new cannot become closed. It can become: acknowledged, in progress, "
                        "resolved."
                    ]
                },
                response_only=True,
                status_codes=["400"],
            ),
        ],
        responses={
            200: OpenApiResponse(CaseDetailSerializer, description="Moved; the case with its timeline."),
            400: BAD_FIELDS,
            403: OpenApiResponse(ErrorDetailSerializer, description="You may see this case but not move it."),
            415: NOT_JSON,
        },
    )
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        case = self.get_object()
        body = TransitionInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            if data["to"] == CaseStatus.RESOLVED and case.status != CaseStatus.RESOLVED:
                # Resolving from another system closes the loop as the case page does: the customer
                # who consented is sent the follow-up survey.
                case = case_resolve(
                    case=case,
                    user=request.user,
                    summary=data.get("summary", ""),
                    link_base=request.build_absolute_uri("/"),
                )
                if data.get("note", "").strip():
                    case_note_add(case=case, user=request.user, text=data["note"])
            else:
                case = case_transition(
                    case=case,
                    to=data["to"],
                    user=request.user,
                    note=data.get("note", ""),
                    summary=data.get("summary", ""),
                )
        except PermissionDenied as refused:
            raise exceptions.PermissionDenied(str(refused)) from None
        except DjangoValidationError as error:
            raise _bad_fields(error, rename={"status": "to"}) from None
        return self._detail(case)

    @extend_schema(
        summary="Add an internal note",
        request=NoteInputSerializer,
        examples=[
            OpenApiExample(
                "A note", value={"text": "Called the customer back, no answer."}, request_only=True
            )
        ],
        responses={
            201: OpenApiResponse(CaseEventSerializer, description="The note, as a line of the timeline."),
            400: BAD_FIELDS,
            415: NOT_JSON,
        },
    )
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        case = self.get_object()
        body = NoteInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            event = case_note_add(case=case, user=request.user, text=body.validated_data["text"])
        except PermissionDenied as refused:  # cannot happen within the scope; said plainly if it does
            raise exceptions.PermissionDenied(str(refused)) from None
        except DjangoValidationError as error:
            raise _bad_fields(error) from None
        context = {**self.get_serializer_context(), "contact_visible": may_see_contact(request.user, case)}
        return Response(CaseEventSerializer(event, context=context).data, status=status.HTTP_201_CREATED)


def _bad_fields(
    error: DjangoValidationError, rename: dict[str, str] | None = None
) -> exceptions.ValidationError:
    """A service's ValidationError as the API's 400, by field (`__all__` becomes `non_field_errors`)."""
    rename = {"__all__": "non_field_errors", **(rename or {})}
    if hasattr(error, "error_dict"):
        return exceptions.ValidationError(
            {
                rename.get(field, field): [str(m) for m in messages]
                for field, messages in error.message_dict.items()
            }
        )
    return exceptions.ValidationError({"non_field_errors": error.messages})
