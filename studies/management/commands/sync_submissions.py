from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from studies.management.commands._shared import get_study, table
from studies.recruiters.base import RecruiterError
from studies.services.recruiting import study_review, study_sync


class Command(BaseCommand):
    help = (
        "Read every submission from the study's platforms (all pages): mark the sessions of "
        "returned and timed-out submissions abandoned (their votes are not used, their items go "
        "back to allocation), and show how each submission matches a session here and what "
        "review would decide. Approves and rejects nothing; `review` does. The worker runs the "
        "first part every SYNC_SUBMISSIONS_EVERY_MINUTES for live studies."
    )

    def add_arguments(self, parser):
        parser.add_argument("study", help="the study's slug")

    def handle(self, *args, **options):
        study = get_study(options["study"])
        try:
            synced = study_sync(study=study)
            rows = study_review(study=study, dry_run=True)
        except RecruiterError as exc:
            raise CommandError(str(exc)) from None
        columns = ["recruiter", "submission", "participant", "platform_status", "decision"]
        self.stdout.write(table(rows, [*columns, "reasons"]))
        self.stdout.write(
            f"{synced['newly_abandoned']} sessions newly marked abandoned "
            f"({synced['abandoned']} returned or timed out in all)"
        )
        counts = Counter(r["decision"] for r in rows)
        self.stdout.write(", ".join(f"{n} {d}" for d, n in sorted(counts.items())) or "none")
