"""The audit programme view: planned, done and missed audits per location, template and month."""

from django.urls import path

from . import programme_views

app_name = "audit_programme"

urlpatterns = [
    path("", programme_views.overview, name="overview"),
]
