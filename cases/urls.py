from django.urls import path  # noqa: F401  (every part of the case pages adds its paths below)

app_name = "cases"

urlpatterns: list = []
