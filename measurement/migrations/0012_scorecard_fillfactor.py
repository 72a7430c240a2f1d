"""Scorecard pages keep 30 % free (PostgreSQL's fillfactor), so that the rollup's updates are HOT:

an incremental run rewrites the sums and statistics of the scorecards its new evidence touches,
none of which is indexed; when the new row version fits on the same page, PostgreSQL writes the
heap only instead of an entry in each of the table's eight indexes. At a million observations
this took an incremental run's updates from 0 % to about 80 % HOT (bench/RESULTS.md). Pages
written before this migration are full and keep their rows until they are rewritten.
Other databases have no such setting: nothing to do there.
"""

from django.db import migrations

TABLE = "measurement_scorecard"


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} SET (fillfactor = 70)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE {TABLE} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("measurement", "0011_observation_partial_indexes")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
