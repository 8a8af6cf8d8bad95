"""The entry point of a helper process (studies.stimuli.local_workers). The helper is spawned
and unpickles this function before Django is set up, so this module imports nothing of the
project's at import time."""

import os


def main(job_pk: int, snapshot: dict, threads: int, settings_module: str | None) -> None:
    if settings_module:
        os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import django
    from django.conf import settings

    # The parent's settings as they are now (its database, a test's too; its media...), set
    # before Django is, so that nothing has read the ones from the environment yet.
    for name, value in snapshot.items():
        setattr(settings, name, value)
    django.setup()
    import torch
    from django.db import connection

    from studies.models import GenerationJob
    from studies.stimuli.job_tasks import job_work

    torch.set_num_threads(threads)
    try:
        job_work(job=GenerationJob.objects.get(pk=job_pk))
    finally:
        connection.close()
