from django.core.management.base import BaseCommand, CommandError

from studies.errors import StudyError
from studies.management.commands._shared import get_study
from studies.services import generation_job_create
from studies.stimuli.jobs import generation_job_run


class Command(BaseCommand):
    help = (
        "Generate the study's clips: every item x system through the system's registered "
        "checkpoint (batched, on the GPU when there is one), loudness-matched and muxed with the "
        "item's video, plus each item's check-trial material. Clips that exist are skipped "
        "unless --force; failures are reported and the rest go on. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("study", help="the study's slug")
        parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
        parser.add_argument("--batch-size", type=int, default=8, help="items per generate call")
        parser.add_argument("--systems", nargs="+", help="system keys (default: all)")
        parser.add_argument("--force", action="store_true", help="remake clips that exist")
        parser.add_argument(
            "--no-checks", action="store_true", help="skip the check-trial material"
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=1,
            help="processes sharing the job on this machine (each system's generation keeps "
            "about one core busy: on a CPU, up to the number of cores helps)",
        )

    def handle(self, *args, **options):
        study = get_study(options["study"])
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        try:
            job = generation_job_create(
                study=study,
                systems=options["systems"],
                device=options["device"],
                batch_size=options["batch_size"],
                force=options["force"],
                checks=not options["no_checks"],
            )
        except StudyError as exc:
            raise CommandError(str(exc)) from None

        def progress(job) -> None:
            made = job.done + job.failed
            self.stdout.write(f"  [{made}/{job.total}] made {job.done}, failed {job.failed}")

        self.stdout.write(f"Generating clips for {study.slug} (job {job.pk})...")
        job = generation_job_run(job=job, progress=progress, workers=options["workers"])
        self.stdout.write(job.message)
        for failure in job.errors:
            self.stderr.write(
                f"  failed: item {failure['item'] or '-'} system {failure['system'] or '-'}: "
                f"{failure['error']}"
            )
        if job.status == job.Status.CANCELLED:
            raise CommandError(
                f"job {job.pk} was cancelled (in the admin) after {job.done} of {job.total}; "
                "what was made is kept, run the command again to make the rest"
            )
        if job.failed:
            raise CommandError(f"{job.failed} of {job.total} clips failed (see above)")
