"""Public pages of the measurement app: the customer feedback form (no login) and, for the
managers of a location, the printable QR codes that lead to it.

The QR sheet's route comes first: a touchpoint whose slug is "qr" would otherwise shadow it.
"""

from django.urls import path

from . import public_views

urlpatterns = [
    path("feedback/<str:code>/qr/", public_views.qr_sheet, name="feedback-qr-sheet"),
    path("feedback/<str:code>/<str:touchpoint>/", public_views.feedback_form, name="feedback-form"),
    path(
        "feedback/<str:code>/<str:touchpoint>/thanks/", public_views.feedback_thanks, name="feedback-thanks"
    ),
    path("feedback/<str:code>/<str:touchpoint>/qr.svg", public_views.qr_svg, name="feedback-qr-svg"),
]
