from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from studies.management.commands._shared import get_study, table
from studies.recruiters.base import RecruiterError
from studies.recruiting import study_review


class Command(BaseCommand):
    help = (
        "Read every submission from the study's platforms (all pages) and show how each matches "
        "a session here and what review would decide. Changes nothing; `review` acts."
    )

    def add_arguments(self, parser):
        parser.add_argument("study", help="the study's slug")

    def handle(self, *args, **options):
        study = get_study(options["study"])
        try:
            rows = study_review(study=study, dry_run=True)
        except RecruiterError as exc:
            raise CommandError(str(exc)) from None
        columns = ["recruiter", "submission", "participant", "platform_status", "decision"]
        self.stdout.write(table(rows, [*columns, "reasons"]))
        counts = Counter(r["decision"] for r in rows)
        self.stdout.write(", ".join(f"{n} {d}" for d, n in sorted(counts.items())) or "none")
