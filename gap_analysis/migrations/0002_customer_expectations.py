"""Seed the catalogue of what customers expect, the criteria of every gap analysis."""

from django.db import migrations

EXPECTATIONS = [
    ("Respect", "Customers are treated as valued people, never as an interruption."),
    ("Fairness", "The same rules apply to every customer and are applied openly."),
    ("Timely response", "Questions, calls and messages are answered within the promised time."),
    ("Quality", "The product or service does what was promised, first time."),
    ("Knowledgeable staff", "Staff know the products, policies and how to get an answer."),
    ("On-time delivery", "What was promised arrives when it was promised."),
    ("Accurate billing", "Invoices and receipts are correct and easy to understand."),
    ("Courtesy", "Greetings, tone and body language are friendly and professional."),
    ("Timely correction of errors", "When something goes wrong it is put right quickly, without a fight."),
]


def seed(apps, schema_editor):
    CustomerExpectation = apps.get_model("gap_analysis", "CustomerExpectation")
    for name, description in EXPECTATIONS:
        CustomerExpectation.objects.get_or_create(name=name, defaults={"description": description})


def unseed(apps, schema_editor):
    apps.get_model("gap_analysis", "CustomerExpectation").objects.filter(
        name__in=[name for name, _ in EXPECTATIONS]
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("gap_analysis", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
