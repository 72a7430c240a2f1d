from django.urls import path

from . import views

app_name = "consequences"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("recognition/", views.recognition_wall, name="recognition-wall"),
    path("mine/", views.mine, name="mine"),
    path("bulk/", views.bulk, name="bulk"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/approve/", views.approve, name="approve"),
    path("<int:pk>/deliver/", views.deliver, name="deliver"),
    path("<int:pk>/close/", views.close, name="close"),
]
