from django.urls import path

from . import loop_views, measure_views, views

app_name = "cases"

# The case pages: the queue, the feedback inbox, one case and its steps, the complaint form.
urlpatterns: list = [
    path("", views.queue, name="queue"),
    path("new/", views.complaint_new, name="new"),
    path("feedback/", views.feedback_inbox, name="feedback"),
    path("feedback/<int:pk>/open/", views.feedback_open_case, name="feedback-open"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/status/", views.transition, name="transition"),
    path("<int:pk>/owner/", views.assign, name="assign"),
    path("<int:pk>/notes/", views.note, name="note"),
]

# Closing the loop: reply to the customer, resolve (cases/loop_views.py).
urlpatterns += [
    path("<int:pk>/reply/", loop_views.reply, name="reply"),
    path("<int:pk>/resolve/", loop_views.resolve, name="resolve"),
]

# How cases are handled, per location and month (cases/measure_views.py).
urlpatterns += [
    path("measures/", measure_views.case_measures, name="measures"),
]
