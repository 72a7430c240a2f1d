from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _sync_roles(sender, **kwargs):
    from django.contrib.auth.models import Group, Permission

    from .roles import sync_role_groups

    sync_role_groups(Group, Permission)


class OrganizationConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "organization"
    verbose_name = "Organisation and people"

    def ready(self):
        # Permissions of models added after the roles migration join the groups on every migrate.
        post_migrate.connect(_sync_roles, dispatch_uid="organization.sync_roles")
