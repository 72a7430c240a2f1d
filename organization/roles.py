"""The three roles as Django groups, and the model permissions each one holds.

Views decide access by role and scope (organization.scope); these groups give Django admin
and the API the same picture. `sync_role_groups` is idempotent: the roles migration runs
it, and `migrate` runs it again afterwards so new models are covered as they arrive.
"""

from __future__ import annotations

from .models import Role

GROUP_NAMES = {Role.ADMIN: "Admins", Role.MANAGER: "Managers", Role.STAFF: "Staff"}

PROGRAM_APPS = (
    "organization",
    "touchpoints",
    "gap_analysis",
    "standards",
    "training",
    "measurement",
    "consequences",
    "audits",
)

# (app label, model) → actions, for the roles below admin. Admins hold every permission of
# the program apps, plus user management.
MANAGER_PERMISSIONS = {
    **{(app, None): {"view"} for app in PROGRAM_APPS},
    ("measurement", "evaluation"): {"view", "add", "record_evaluation"},
    ("measurement", "observation"): {"view", "add"},
    ("gap_analysis", "assessment"): {"view", "add", "change"},
    ("gap_analysis", "rating"): {"view", "add", "change"},
    ("gap_analysis", "actionitem"): {"view", "add", "change"},
    ("training", "completion"): {"view", "change"},
    ("consequences", "consequence"): {"view", "add", "change"},
}
STAFF_PERMISSIONS = {
    ("standards", "standard"): {"view"},
    ("standards", "acknowledgement"): {"view", "add"},
    ("touchpoints", "touchpoint"): {"view"},
    ("training", "course"): {"view"},
    ("training", "completion"): {"view", "add"},
}


def _codename_matches(codename: str, model: str, actions: set[str]) -> bool:
    return any(codename == f"{action}_{model}" or codename == action for action in actions)


def sync_role_groups(group_model, permission_model) -> None:
    """Create the three groups and give each exactly its permissions (idempotent)."""
    program_perms = list(
        permission_model.objects.filter(content_type__app_label__in=PROGRAM_APPS).select_related(
            "content_type"
        )
    )
    user_perms = permission_model.objects.filter(content_type__app_label="auth", content_type__model="user")

    admins, _ = group_model.objects.get_or_create(name=GROUP_NAMES[Role.ADMIN])
    admins.permissions.set([*program_perms, *user_perms])

    for role, table in ((Role.MANAGER, MANAGER_PERMISSIONS), (Role.STAFF, STAFF_PERMISSIONS)):
        group, _ = group_model.objects.get_or_create(name=GROUP_NAMES[role])
        chosen = []
        for perm in program_perms:
            ct = perm.content_type
            actions = table.get((ct.app_label, ct.model), set()) | table.get((ct.app_label, None), set())
            if _codename_matches(perm.codename, ct.model, actions):
                chosen.append(perm)
        group.permissions.set(chosen)
