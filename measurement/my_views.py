"""The staff portal's "my scorecard": an employee's own figures and their trend.

For anyone with an employee profile, about themselves only: the page takes no parameter that could
name somebody else (`selectors.my_scorecard` starts from the signed-in user's own profile). Reads
scorecards and one bounded aggregate of the user's own observations, so the number of queries is
fixed whatever the amount of evidence.
"""

from django.shortcuts import render
from django.views.decorators.http import require_safe

from organization.access import employee_required

from . import selectors


@require_safe
@employee_required
def my_scorecard(request):
    card = selectors.my_scorecard(request.user)
    if card is None:
        # An administrator account without an employee profile has no scorecard of its own.
        return render(request, "home/no_profile.html", status=403)
    return render(request, "measurement/my_scorecard.html", {"card": card})
