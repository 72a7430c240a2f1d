from django.contrib import admin
from django.urls import include, path

from . import views

admin.site.site_header = "ServiceDesk administration"
admin.site.site_title = "ServiceDesk"
admin.site.index_title = "Configure the customer service program"

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
]
