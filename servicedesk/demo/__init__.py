"""The demo organisation behind `manage.py seed_demo`.

- `catalogue`: the content as data (sites, people, touchpoints, standards, courses, rules, gap
  analyses, customer comments, and the quality, trend and volume of each site);
- `evidence`: the generator of evaluations, observations and feedback, as intake rows;
- `context`: what the steps share; `organisation`, `programme` and `results`: the steps, which
  write through the apps' services;
- `builder`: runs the steps in one transaction and counts what they added.

The story the default demo (six stores) tells over the last 30 days of its evidence, also as data
in `catalogue.DEMO_ROLES` (role → location code) for tests and documentation:

- strongest, LDN-01 London Oxford Street: a flagship (twice an ordinary store's evidence), above
  the funnel's 99.8 % upper limit and on target;
- weakest, MAN-01 Manchester Arndale: below its target with confidence and below the funnel's
  99.8 % lower limit, deviations of non-negotiable standards whose corrective actions are overdue
  and still only proposed, and an overdue gap action;
- improving, LDN-02 London Canary Wharf, and declining, LDS-01 Leeds Trinity: the last 30 days
  clearly better (worse) than the 30 before, with signals on the weekly p-chart;
- small, WIN-01 Winchester Brooks pop-up: fewer than MIN_EVIDENCE (20) observations, too little
  evidence to judge;
- and MAN-02, a station kiosk measured a few times a day, and HQ-01, the head office whose
  contact centre is measured at high volume, a good share of it by QA reviews.

Evidence per location and day is the per-day option times the site's volume, so the defaults
give about as many observations as seven ordinary locations.
"""
