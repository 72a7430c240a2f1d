from organization.scope import role_of


def role(request):
    """The signed-in user's role, for the navigation of every page."""
    return {"role": role_of(request.user)}
