from django.urls import path

from . import views

app_name = "standards"

urlpatterns = [
    path("", views.my_standards, name="mine"),
    path("<str:code>/", views.standard_detail, name="detail"),
    path("<str:code>/acknowledge/", views.acknowledge, name="acknowledge"),
]
