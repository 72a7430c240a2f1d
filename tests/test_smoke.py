from organization.models import Role
from organization.scope import role_of


def test_role_fixtures_have_their_roles(staff, manager, other_manager, admin, anonymous):
    assert [role_of(u) for u in (staff, manager, other_manager, admin, anonymous)] == [
        Role.STAFF,
        Role.MANAGER,
        Role.MANAGER,
        Role.ADMIN,
        None,
    ]
    assert admin.is_staff and not manager.is_staff
    assert list(staff.groups.values_list("name", flat=True)) == ["Staff"]
