from django.core.management.base import BaseCommand, CommandError

from studies.errors import StudyError
from studies.management.commands._shared import get_study, table
from studies.recruiters.base import RecruiterError
from studies.services.recruiting import study_review, study_top_up


class Command(BaseCommand):
    help = (
        "Review every submission on the study's platforms in two tiers: approve (pay) or reject "
        "(only after two failed checks), and whether the votes are used; then request more "
        "places until every item can reach its target of valid votes. Every remote action is "
        "ledgered, so running it again never sends a decision twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("study", help="the study's slug")
        parser.add_argument("--dry-run", action="store_true", help="show, send nothing")
        parser.add_argument("--no-top-up", action="store_true")

    def handle(self, *args, **options):
        study = get_study(options["study"])
        try:
            rows = study_review(study=study, dry_run=options["dry_run"])
            extra = (
                0 if options["no_top_up"] else study_top_up(study=study, dry_run=options["dry_run"])
            )
        except (StudyError, RecruiterError) as exc:
            raise CommandError(str(exc)) from None
        columns = ["recruiter", "submission", "participant", "platform_status", "decision"]
        self.stdout.write(table(rows, [*columns, "pay", "use", "reasons", "sent"]))
        verb = "would request" if options["dry_run"] else "requested"
        self.stdout.write(f"{verb} {extra} more places" if extra else "no more places needed")
