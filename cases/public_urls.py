"""The customer's follow-up survey after a resolved case (no login), mounted at /cases/follow-up/."""

from django.urls import path

from . import public_views

urlpatterns = [
    path("<str:token>/", public_views.follow_up, name="case-follow-up"),
]
