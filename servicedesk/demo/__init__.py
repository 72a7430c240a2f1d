"""The demo organisation behind `manage.py seed_demo`.

- `catalogue`: the content as data (sites, people, touchpoints, standards, courses, rules, gap
  analyses, customer comments, and the quality of each site);
- `evidence`: the generator of evaluations, observations and feedback, as intake rows;
- `context`: what the steps share; `organisation`, `programme` and `results`: the steps, which
  write through the apps' services;
- `builder`: runs the steps in one transaction and counts what they added.
"""
