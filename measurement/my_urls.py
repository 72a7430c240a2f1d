"""Pages about the signed-in employee themselves, mounted at /me/."""

from django.urls import path

from . import my_views

app_name = "me"

urlpatterns = [
    path("scorecard/", my_views.my_scorecard, name="scorecard"),
]
