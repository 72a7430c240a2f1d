"""The public "you said, we did" page (no login), mounted at /improvements/."""

from django.urls import path

from . import views

urlpatterns = [
    path("", views.improvements, name="improvements"),
]
