from django.apps import AppConfig


def open_cases_for_feedback(sender, *, feedback_ids: list[int], **kwargs) -> None:
    """Receiver of `measurement.signals.feedback_received`: the case rules run at intake."""
    from .services.intake import cases_open_for_feedback

    cases_open_for_feedback(feedback_ids=feedback_ids)


class CasesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "cases"
    verbose_name = "Customer cases"

    def ready(self) -> None:
        # measurement sits below cases and cannot call it: it sends a signal inside its intake transaction.
        from measurement.signals import feedback_received

        feedback_received.connect(open_cases_for_feedback, dispatch_uid="cases.open_cases_for_feedback")
