"""The five references intake resolves (standard, location, team, employee, touchpoint) lose their
foreign-key constraints: intake checks them once per batch instead (intake.ReferenceCheck), and
these triggers keep the other half of what the constraints did, for every writer: a referenced
row cannot be deleted, nor its id changed, while an observation refers to it. An ORM delete
meets Django's PROTECT first; the trigger also covers SQL deletes and a delete racing an intake
(it runs once the intake's lock on the row is released, and sees its committed rows).
"""

import django.db.models.deletion
from django.db import migrations, models

# (referenced table, the observation column that refers to it)
REFERENCES = (
    ("standards_standard", "standard_id"),
    ("organization_location", "location_id"),
    ("organization_team", "team_id"),
    ("organization_employee", "employee_id"),
    ("touchpoints_touchpoint", "touchpoint_id"),
)
OBSERVATIONS = "measurement_observation"

POSTGRESQL_GUARD = f"""
CREATE FUNCTION measurement_observation_reference_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    referenced boolean;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.id = OLD.id THEN
        RETURN NEW;
    END IF;
    -- In READ COMMITTED this query sees the rows of an intake that held the row until its commit.
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM {OBSERVATIONS} WHERE %I = $1)', TG_ARGV[0])
        INTO referenced USING OLD.id;
    IF referenced THEN
        RAISE foreign_key_violation USING
            MESSAGE = format('%s %s is still referred to by observations (%s)', TG_TABLE_NAME, OLD.id, TG_ARGV[0]);
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;
"""


def _trigger(table: str) -> str:
    return f"{table}_observation_guard"


def create_guards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        # SQLite gets no guard: a trigger naming the observation table there would break every
        # later migration that remakes that table. Its writers take the database lock in turn
        # (BEGIN IMMEDIATE), so an ORM delete in a transaction sees committed observations.
        return
    schema_editor.execute(POSTGRESQL_GUARD, params=None)
    for table, column in REFERENCES:
        schema_editor.execute(
            f"CREATE TRIGGER {_trigger(table)} BEFORE DELETE OR UPDATE OF id ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION measurement_observation_reference_guard('{column}')",
            params=None,
        )


def drop_guards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, _ in REFERENCES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {_trigger(table)} ON {table}", params=None)
    schema_editor.execute("DROP FUNCTION IF EXISTS measurement_observation_reference_guard()", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("measurement", "0009_scorecard_sums"),
        ("organization", "0005_openinghours"),
        ("standards", "0001_initial"),
        ("touchpoints", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_guards, drop_guards),
        migrations.AlterField(
            model_name="observation",
            name="employee",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="observations",
                to="organization.employee",
            ),
        ),
        migrations.AlterField(
            model_name="observation",
            name="location",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="observations",
                to="organization.location",
            ),
        ),
        migrations.AlterField(
            model_name="observation",
            name="standard",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="observations",
                to="standards.standard",
            ),
        ),
        migrations.AlterField(
            model_name="observation",
            name="team",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="observations",
                to="organization.team",
            ),
        ),
        migrations.AlterField(
            model_name="observation",
            name="touchpoint",
            field=models.ForeignKey(
                blank=True,
                db_constraint=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="observations",
                to="touchpoints.touchpoint",
            ),
        ),
    ]
