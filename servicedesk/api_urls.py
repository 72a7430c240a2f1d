"""The REST API: /api/v1/ (token or session authentication), the OpenAPI 3 schema and its docs page.

    /api/v1/                 the resources below (browsable in a signed-in browser)
    /api/v1/token/           POST username and password → {"token": "..."}
    /api/schema/             OpenAPI 3 schema (YAML; ?format=json for JSON)
    /api/docs/               Swagger UI over the schema, served from static/vendor/ (works offline)

Everything needs a signed-in user or a token, except the token view itself; the docs page
sends anonymous browsers to the login page.
"""

from django.contrib.auth.decorators import login_required
from django.templatetags.static import static
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework import permissions
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from measurement.api import EvaluationViewSet, FeedbackViewSet, ObservationViewSet, ScorecardViewSet
from organization.api import LocationViewSet
from standards.api import StandardViewSet
from touchpoints.api import TouchpointViewSet

app_name = "api"

router = DefaultRouter()
router.register("observations", ObservationViewSet, basename="observation")
router.register("evaluations", EvaluationViewSet, basename="evaluation")
router.register("feedback", FeedbackViewSet, basename="feedback")
router.register("scorecards", ScorecardViewSet, basename="scorecard")
router.register("standards", StandardViewSet, basename="standard")
router.register("touchpoints", TouchpointViewSet, basename="touchpoint")
router.register("locations", LocationViewSet, basename="location")


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


urlpatterns = [
    path("v1/token/", obtain_auth_token, name="token"),
    path("v1/", include(router.urls)),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", login_required(DocsView.as_view()), name="docs"),
]
