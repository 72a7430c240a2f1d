from audits.access import is_external_evaluator
from organization.models import Location, Role
from organization.scope import location_queryset_for, role_of


def role(request):
    """The signed-in user's role, and for managers and admins the locations whose printable QR
    sheets the navigation lists; a user with no role may be an external evaluator (their audits)."""
    user_role = role_of(request.user)
    context = {"role": user_role}
    if user_role in (Role.MANAGER, Role.ADMIN):
        # Lazy and evaluated once by the navigation: one query whatever the number of locations,
        # none on pages that do not draw it (the admin, the API). Same scope as the sheet itself.
        locations = location_queryset_for(request.user, Location.objects.filter(active=True))
        context["qr_sheet_locations"] = locations.only("code", "name").order_by("name", "code")
    elif user_role is None:
        context["external_evaluator"] = is_external_evaluator(request.user)
    return context
