from django.core.management.base import BaseCommand, CommandError

from studies.errors import StudyError
from studies.management.commands._shared import get_study, table
from studies.recruiters.base import RecruiterError
from studies.recruiters.ledger import UnknownOutcome
from studies.services.recruiting import study_pay_bonuses


class Command(BaseCommand):
    help = (
        "Pay the study's bonus (bonus_cents) once to every submission in the 'pay' tier. A bonus "
        "whose outcome is unknown (a crash or timeout mid-payment on Prolific) is never re-sent: "
        "check it on the platform and mark it in the admin's ledger."
    )

    def add_arguments(self, parser):
        parser.add_argument("study", help="the study's slug")
        parser.add_argument("--dry-run", action="store_true", help="show, pay nothing")

    def handle(self, *args, **options):
        study = get_study(options["study"])
        try:
            rows = study_pay_bonuses(study=study, dry_run=options["dry_run"])
        except UnknownOutcome as exc:
            raise CommandError(f"stopped: {exc}") from None
        except (StudyError, RecruiterError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(table(rows, ["recruiter", "submission", "participant", "cents", "sent"]))
