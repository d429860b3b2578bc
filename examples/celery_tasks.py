"""learnprog's time-driven work as a Celery task, for a host that runs Celery already.

Run (docs/howto-worker.md)::

    celery -A celery_tasks worker --pool=solo    # as many as you like, on as many machines
    celery -A celery_tasks beat                  # exactly one: queues run_due every minute

Each task runs ``lp.jobs.run_due`` once; two workers running it at once share the work
(outbox claims, one scheduled report per admin and day, one scoring run per organization at a
time), so a slow run overlapping the next beat is harmless.

The environment configures it: ``CELERY_BROKER_URL`` (default ``redis://127.0.0.1:6379/0``),
``CELERY_RESULT_BACKEND`` (none by default), ``LEARNPROG_JOBS_QUEUE`` (default ``learnprog``),
``LEARNPROG_JOBS_EVERY`` (seconds between beats, default 60), and learnprog's own
``LEARNPROG_DB``, ``LEARNPROG_SECRET_KEY``, ``LEARNPROG_SMTP_HOST``, ``LEARNPROG_SMTP_PORT``,
``LEARNPROG_SMTP_SECURITY`` (``none``, ``starttls`` or ``tls``), ``LEARNPROG_SMTP_USER`` and
``LEARNPROG_SMTP_PASSWORD``.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from celery import Celery, Task
from celery.signals import worker_shutting_down

import learnprog
from learnprog.mail.smtp import SmtpMailer

QUEUE = os.environ.get("LEARNPROG_JOBS_QUEUE", "learnprog")
EVERY = float(os.environ.get("LEARNPROG_JOBS_EVERY", "60"))

app = Celery(
    "learnprog_jobs",
    broker=os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0"),
    backend=os.environ.get("CELERY_RESULT_BACKEND"),
)
app.conf.update(
    task_default_queue=QUEUE,
    worker_prefetch_multiplier=1,  # a worker takes one run at a time
    broker_connection_retry_on_startup=True,
    beat_schedule={
        "learnprog-run-due": {
            "task": "learnprog.run_due",
            "schedule": EVERY,
            "options": {"expires": EVERY},  # a beat nobody took in time is dropped, not piled up
        }
    },
)

_instance: learnprog.Learnprog | None = None
_stopping = threading.Event()


@worker_shutting_down.connect
def _stop(**_: Any) -> None:
    """Warm shutdown (SIGTERM): the mail step finishes its message in hand and releases the
    rest (the solo and threads pools; prefork children finish the run in hand)."""
    _stopping.set()


def instance() -> learnprog.Learnprog:
    """This worker process's learnprog, made on first use (never at import)."""
    global _instance
    if _instance is None:
        _instance = learnprog.connect(
            os.environ["LEARNPROG_DB"],
            settings=learnprog.Settings(secret_key=os.environ["LEARNPROG_SECRET_KEY"]),
            mailer=SmtpMailer(
                os.environ.get("LEARNPROG_SMTP_HOST", "localhost"),
                int(os.environ.get("LEARNPROG_SMTP_PORT", "587")),
                security=os.environ.get("LEARNPROG_SMTP_SECURITY", "starttls"),
                username=os.environ.get("LEARNPROG_SMTP_USER"),
                password=os.environ.get("LEARNPROG_SMTP_PASSWORD"),
            ),
            migrate=False,  # run `learnprog db upgrade` when deploying
        )
    return _instance


@app.task(name="learnprog.run_due", bind=True)
def run_due(self: Task) -> dict[str, Any]:
    """Do the due time-driven work once; return what the mail step did, for the result."""
    started = time.time()
    report = instance().jobs.run_due(learnprog.SystemActor(), stop=_stopping.is_set)
    mail = report.mail
    return {
        "worker": self.request.hostname,
        "started": started,
        "finished": time.time(),
        "sent": 0 if mail is None else mail.sent,
        "lost": 0 if mail is None else mail.lost,
        "failed": [step.summary() for step in report.failed],
    }
