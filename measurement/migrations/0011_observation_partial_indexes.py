"""The indexes on observation.evaluation_id and recorded_by_id hold only the rows that have one:
both columns are null for nearly every row (imported files, API batches without an evaluation),
and a full index costs an entry per row on every write. The queries by value (an evaluation's
items, the API filter ?evaluation=, SET_NULL when a user is deleted) use the partial index.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("measurement", "0010_observation_references_checked_per_batch"),
        ("organization", "0005_openinghours"),
        ("standards", "0001_initial"),
        ("touchpoints", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="observation",
            name="evaluation",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="observations",
                to="measurement.evaluation",
            ),
        ),
        migrations.AlterField(
            model_name="observation",
            name="recorded_by",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="observation",
            index=models.Index(
                condition=models.Q(("evaluation__isnull", False)),
                fields=["evaluation"],
                name="observation_evaluation_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="observation",
            index=models.Index(
                condition=models.Q(("recorded_by__isnull", False)),
                fields=["recorded_by"],
                name="observation_recorder_idx",
            ),
        ),
    ]
