from django.urls import path

from . import views

app_name = "gap_analysis"

urlpatterns = [
    path("", views.heatmap, name="heatmap"),
    path("assess/", views.assessment_create, name="assess"),
    path("assessments/<int:pk>/", views.assessment_detail, name="assessment-detail"),
    path("assessments/<int:pk>/edit/", views.assessment_edit, name="assessment-edit"),
    path("actions/", views.actions, name="action-list"),
    path("actions/new/", views.action_new, name="action-create"),
    path("actions/<int:pk>/", views.action_detail, name="action-detail"),
    path("actions/<int:pk>/status/", views.action_status, name="action-status"),
    path("actions/<int:pk>/publish/", views.action_publish_view, name="action-publish"),
    path("actions/<int:pk>/unpublish/", views.action_unpublish_view, name="action-unpublish"),
]
