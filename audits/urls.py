"""Doing planned audits: my audits, the audit form (answers saved as a draft), submission, result."""

from django.urls import path

from . import views

app_name = "audits"

urlpatterns = [
    path("", views.mine, name="mine"),
    path("occurrences/<int:pk>/start/", views.start, name="start"),
    path("<int:pk>/", views.audit, name="audit"),
    path("<int:pk>/answer/", views.answer, name="answer"),
    path("<int:pk>/submit/", views.submit, name="submit"),
    path("<int:pk>/result/", views.detail, name="detail"),
]
