from django.urls import path

from . import evaluation_views as views

app_name = "evaluations"

urlpatterns = [
    path("new/", views.evaluation_new, name="new"),
    path("new/items/", views.evaluation_items, name="items"),
    path("new/location/", views.evaluation_location_fields, name="location-fields"),
    path("<int:pk>/", views.evaluation_detail, name="detail"),
]
