from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("attention/", views.attention, name="attention"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("", include("measurement.public_urls")),
    path("standards/", include("standards.urls")),
    path("training/", include("training.urls")),
    path("evaluations/", include("measurement.evaluation_urls")),
    path("dashboard/", include("measurement.urls")),
    path("me/", include("measurement.my_urls")),
    path("gaps/", include("gap_analysis.urls")),
    path("consequences/", include("consequences.urls")),
    path("cases/follow-up/", include("cases.public_urls")),
    path("cases/", include("cases.urls")),
    path("improvements/", include("gap_analysis.public_urls")),
    path("audits/programme/", include("audits.programme_urls")),
    path("audits/photos/", include("audits.photo_urls")),
    path("audits/", include("audits.urls")),
    path("api/", include("servicedesk.api_urls")),
]
