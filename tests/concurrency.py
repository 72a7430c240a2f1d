"""Two runs of a periodic job at once, on two database connections (PostgreSQL)."""

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction


def run_overlapping(job: Callable[[], Any]) -> tuple[dict[str, Any], list[Exception]]:
    """Run `job` twice in two threads: the first inside a transaction that stays open until the
    second has started and had half a second to reach the first's lock (or its uncommitted rows).

    Returns ({"first": result, "second": result}, errors raised in either thread).
    """
    first_done, second_started = threading.Event(), threading.Event()
    results: dict[str, Any] = {}
    errors: list[Exception] = []

    def first() -> None:
        try:
            with transaction.atomic():
                results["first"] = job()
                first_done.set()
                second_started.wait(10)
                time.sleep(0.5)  # the second run now waits for the first
        except Exception as exc:  # handed to the caller
            errors.append(exc)
        finally:
            first_done.set()
            connection.close()

    def second() -> None:
        try:
            first_done.wait(10)
            second_started.set()
            results["second"] = job()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results, errors
