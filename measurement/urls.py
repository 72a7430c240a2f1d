from django.urls import path
from django.views.generic import RedirectView

from . import views

app_name = "measurement"

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="measurement:scorecards"), name="dashboard"),
    path("scorecards/", views.scorecards, name="scorecards"),
    path("consistency/", views.consistency, name="consistency"),
    path("observations/", views.observations, name="observations"),
    path("evaluations/<int:pk>/", views.evaluation_detail, name="evaluation-detail"),
]
