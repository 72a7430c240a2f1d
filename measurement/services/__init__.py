"""Services of the measurement app: the writes (intake of evidence, scorecard rollups)."""

from .rollup import scorecards_rollup  # noqa: F401
