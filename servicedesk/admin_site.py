"""The Django admin as the program's administrators use it: apps in the order of the program's
six steps, and a plain answer for employees who open it without being administrators."""

from functools import update_wrapper

from django.contrib import admin
from django.shortcuts import render

# The six steps of the program, then the people who run it, then the libraries' own pages.
APP_ORDER = (
    "touchpoints",
    "gap_analysis",
    "standards",
    "training",
    "measurement",
    "consequences",
    "cases",
    "organization",
    "auth",
)


def _app_rank(app: dict) -> tuple[int, str]:
    label = app["app_label"]
    return (APP_ORDER.index(label) if label in APP_ORDER else len(APP_ORDER), app["name"].lower())


class ServiceDeskAdminSite(admin.AdminSite):
    site_header = "ServiceDesk administration"
    site_title = "ServiceDesk"
    index_title = "Configure the customer service program"

    def get_app_list(self, request, app_label=None):
        return sorted(super().get_app_list(request, app_label), key=_app_rank)

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        def refuse_employees(request, *args, **kwargs):
            # The admin would show a signed-in employee its login form, as if another password
            # could help; say instead whose pages these are and send them to their own.
            if _signed_in_without_admin(self, request):
                return refused(request)
            return inner(request, *args, **kwargs)

        # Keep what the admin's wrapper marked (its name, csrf_exempt and the like).
        return update_wrapper(refuse_employees, inner)

    def login(self, request, extra_context=None):
        if _signed_in_without_admin(self, request):
            return refused(request)
        return super().login(request, extra_context)


def _signed_in_without_admin(site: admin.AdminSite, request) -> bool:
    return request.user.is_authenticated and not site.has_permission(request)


def refused(request):
    """The 403 page, worded for an employee who is not an administrator."""
    return render(request, "403.html", {"admin_refused": True}, status=403)
