from django.urls import path

from . import views

app_name = "training"

urlpatterns = [
    path("", views.my_training, name="mine"),
    path("verification/", views.verification_queue, name="verification"),
    path("verification/<int:pk>/", views.review_completion, name="review"),
    path("matrix/", views.matrix, name="matrix"),
]
