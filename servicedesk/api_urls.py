"""The REST API: /api/v1/ (token or session authentication), the OpenAPI 3 schema and its docs page.

    /api/v1/                 the resources below (browsable in a signed-in browser)
    /api/v1/token/           POST username and password → {"token": "..."}; repeated failures
                             lock the user out from that address (429, see login_protection)
    /api/schema/             OpenAPI 3 schema (YAML; ?format=json for JSON)
    /api/docs/               Swagger UI over the schema, served from static/vendor/ (works offline)

Everything needs a signed-in user or a token, except the token view itself; the docs page
sends anonymous browsers to the login page.
"""

from collections.abc import Mapping

from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.templatetags.static import static
from django.urls import include, path
from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework import permissions, serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter

from audits.api import AuditEvaluationViewSet, AuditTemplateViewSet, ScheduleViewSet
from cases.api import CaseViewSet
from cases.api_measures import CaseMeasuresView
from measurement.api import FeedbackViewSet, ObservationViewSet, ScorecardViewSet
from organization.api import LocationViewSet
from servicedesk.login_protection import lockout_response
from standards.api import StandardViewSet
from touchpoints.api import TouchpointViewSet

app_name = "api"

router = DefaultRouter()
router.register("observations", ObservationViewSet, basename="observation")
router.register("evaluations", AuditEvaluationViewSet, basename="evaluation")
router.register("feedback", FeedbackViewSet, basename="feedback")
router.register("scorecards", ScorecardViewSet, basename="scorecard")
router.register("standards", StandardViewSet, basename="standard")
router.register("touchpoints", TouchpointViewSet, basename="touchpoint")
router.register("locations", LocationViewSet, basename="location")
router.register("cases", CaseViewSet, basename="case")
router.register("audit-templates", AuditTemplateViewSet, basename="audit-template")
router.register("audit-schedules", ScheduleViewSet, basename="audit-schedule")


class SchemaView(SpectacularAPIView):
    # The schema describes the whole program's API: for signed-in users and token holders only.
    permission_classes = [permissions.IsAuthenticated]


class DocsView(SpectacularSwaggerView):
    """Swagger UI from the vendored copy in static/vendor/swagger-ui/ (no CDN: pages work offline)."""

    template_name = "api/docs.html"
    url_name = "api:schema"

    @staticmethod
    def _swagger_ui_resource(filename):
        return static(f"vendor/swagger-ui/{filename}")

    @staticmethod
    def _swagger_ui_favicon():
        return static("vendor/swagger-ui/favicon-32x32.png")


class TokenRequestSerializer(AuthTokenSerializer):
    # No longer than the user model allows: the failed-attempt log stores what was sent.
    username = serializers.CharField(
        label="Username",
        write_only=True,
        max_length=get_user_model()._meta.get_field(get_user_model().USERNAME_FIELD).max_length,
    )


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class TokenRefusedSerializer(serializers.Serializer):
    username = serializers.ListField(child=serializers.CharField(), required=False)
    password = serializers.ListField(child=serializers.CharField(), required=False)
    non_field_errors = serializers.ListField(
        child=serializers.CharField(), required=False, help_text="E.g. wrong user name or password."
    )


class LockedOutSerializer(serializers.Serializer):
    detail = serializers.CharField()
    locked_until = serializers.DateTimeField(help_text="When signing in is possible again.")
    retry_after = serializers.IntegerField(help_text="Seconds until then (also in the Retry-After header).")


class TokenView(ObtainAuthToken):
    """Exchange a user name and password for the user's API token. Failures count towards the
    same lockout as the browser sign-in (django-axes)."""

    serializer_class = TokenRequestSerializer

    @extend_schema(
        operation_id="token_create",
        auth=[],
        request=TokenRequestSerializer,
        responses={
            200: TokenSerializer,
            400: OpenApiResponse(
                TokenRefusedSerializer,
                description="A field is missing or invalid, or "
                "the user name and password do not match an active user.",
            ),
            429: OpenApiResponse(
                LockedOutSerializer,
                description="Too many failed sign-ins for this user from this address: wait until "
                "`locked_until` (or ask an administrator to unlock the account).",
            ),
        },
    )
    def post(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        if serializer.is_valid():
            token, _created = Token.objects.get_or_create(user=serializer.validated_data["user"])
            return Response({"token": token.key})
        # django-axes flags the request it was given, here DRF's, not the Django request its
        # middleware sees: the lockout answer is given here.
        if getattr(request, "axes_locked_out", False):
            data = request.data if isinstance(request.data, Mapping) else {}
            return lockout_response(request, credentials={"username": data.get("username")})
        return Response(serializer.errors, status=status.HTTP_400_BAD_REQUEST)


urlpatterns = [
    path("v1/token/", TokenView.as_view(), name="token"),
    # Before the router's routes, so that "measures" is never read as a case id.
    path("v1/cases/measures/", CaseMeasuresView.as_view(), name="case-measures"),
    path("v1/", include(router.urls)),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", login_required(DocsView.as_view()), name="docs"),
]
