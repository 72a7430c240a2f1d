from django.urls import path

from . import loop_views

app_name = "cases"

urlpatterns: list = []

# Closing the loop: reply to the customer, resolve (cases/loop_views.py).
urlpatterns += [
    path("<int:pk>/reply/", loop_views.reply, name="reply"),
    path("<int:pk>/resolve/", loop_views.resolve, name="resolve"),
]
