"""Audit photos: uploaded to a draft's answer, served only to users who may see the audit."""

from django.urls import path

from . import photo_views

app_name = "audit_photos"

urlpatterns = [
    path("<int:audit>/<int:question>/upload/", photo_views.upload, name="upload"),
    path("<int:pk>/", photo_views.serve, name="file"),
    path("<int:pk>/delete/", photo_views.delete, name="delete"),
]
