from django.apps import AppConfig


def evaluate_after_rollup(sender, periods=None, full: bool = False, **kwargs) -> None:
    """Receiver of `measurement.signals.scorecards_rolled_up`: evaluate the rules once the rollup's
    data is committed (the signal comes after the commit; `delay_on_commit` also covers a sender
    inside an outer transaction). A full rebuild touched every period: evaluate everything."""
    from .models import Rule
    from .tasks import evaluate_rules

    if not Rule.objects.filter(active=True).exists():
        return  # nothing to evaluate: spare the queue a task
    pairs = None if full or periods is None else [[kind, start.isoformat()] for kind, start in periods]
    evaluate_rules.delay_on_commit(periods=pairs)


def evaluate_after_audits_missed(sender, **kwargs) -> None:
    """Receiver of `audits.signals.audits_missed`: judge the missed-audit rules now, rather than
    at the next rollup."""
    from .models import Condition, Rule
    from .tasks import evaluate_rules

    if Rule.objects.filter(active=True, condition=Condition.AUDITS_MISSED).exists():
        evaluate_rules.delay_on_commit(conditions=[Condition.AUDITS_MISSED])


class ConsequencesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "consequences"
    verbose_name = "Consequences"

    def ready(self) -> None:
        # measurement and audits (a lower layer) announce rollups and missed audits with signals;
        # this app listens, so that they never import consequences.
        from audits.signals import audits_missed
        from measurement.signals import scorecards_rolled_up

        scorecards_rolled_up.connect(evaluate_after_rollup, dispatch_uid="consequences.evaluate_after_rollup")
        audits_missed.connect(
            evaluate_after_audits_missed, dispatch_uid="consequences.evaluate_after_audits_missed"
        )
