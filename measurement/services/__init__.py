"""Writes for measurement: intake of evidence (intake.py) and scorecard rollups (rollup.py)."""
