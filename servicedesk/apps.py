from django.contrib.admin import apps as admin_apps


class ServiceDeskAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the program's own site (app order, refusal page)."""

    # Named in INSTALLED_APPS in place of django.contrib.admin; never the config of "servicedesk".
    default = False
    default_site = "servicedesk.admin_site.ServiceDeskAdminSite"
