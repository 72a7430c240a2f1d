from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def method_of_the_course(apps, schema_editor):
    """Completions logged before the method was asked were done the course's own way."""
    Completion = apps.get_model("training", "Completion")
    Course = apps.get_model("training", "Course")
    Completion.objects.update(
        method=Subquery(Course.objects.filter(pk=OuterRef("course_id")).values("delivery_method")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("training", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="completion",
            name="method",
            field=models.CharField(
                choices=[
                    ("self_study", "Self-study"),
                    ("classroom", "Classroom"),
                    ("e_learning", "E-learning"),
                    ("on_the_job", "On the job"),
                    ("multimedia", "Multimedia (video, audio)"),
                ],
                default="e_learning",
                help_text="How it was completed: the course's own way, or another (a classroom session instead of e-learning).",
                max_length=12,
            ),
            preserve_default=False,
        ),
        migrations.RunPython(method_of_the_course, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="completion",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("method__in", ["self_study", "classroom", "e_learning", "on_the_job", "multimedia"])
                ),
                name="completion_method_valid",
            ),
        ),
    ]
