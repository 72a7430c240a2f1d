from django.apps import AppConfig


class ConsequencesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "consequences"
