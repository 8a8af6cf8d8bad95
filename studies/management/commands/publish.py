import json
from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError

from studies.errors import StudyError
from studies.management.commands._shared import get_study
from studies.models import Recruitment
from studies.recruiters.base import RecruiterError
from studies.services.recruiting import recruitment_publish, study_public_url


def _cents(value: str) -> int:
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise CommandError(f"--reward {value!r} is not an amount such as 4.50") from None
    if amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise CommandError(f"--reward {value!r} must be positive with at most two decimals")
    return int(amount * 100)


class Command(BaseCommand):
    help = (
        "Post a launched study on a crowd platform (Prolific by default; MTurk closed on "
        "2026-09-30; local records links only). Each remote step is ledgered: run it again "
        "after a failure and it continues where it stopped."
    )

    def add_arguments(self, parser):
        parser.add_argument("study", help="the study's slug")
        parser.add_argument(
            "--recruiter", choices=[c.value for c in Recruitment.Recruiter], default="prolific"
        )
        parser.add_argument("--sandbox", action="store_true", help="MTurk's sandbox")
        parser.add_argument("--places", type=int, required=True)
        parser.add_argument("--reward", required=True, help="per participant, e.g. 4.50")
        parser.add_argument("--minutes", type=int, default=15, help="estimated completion time")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="check the values and print the exact body that would be sent to Prolific; "
            "nothing is created or recorded",
        )

    def handle(self, *args, **options):
        study = get_study(options["study"])
        if options["dry_run"]:
            return self._dry_run(study, options)
        try:
            recruitment = recruitment_publish(
                study=study,
                recruiter=options["recruiter"],
                places=options["places"],
                reward_cents=_cents(options["reward"]),
                minutes=options["minutes"],
                sandbox=options["sandbox"],
            )
        except (StudyError, RecruiterError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"published {study.slug} on {recruitment.get_recruiter_display()} as "
            f"{recruitment.remote_id} ({recruitment.places} places); study URL "
            f"{study_public_url(study)}"
        )

    def _dry_run(self, study, options):
        if options["recruiter"] != Recruitment.Recruiter.PROLIFIC:
            raise CommandError("--dry-run prints Prolific's request body: use --recruiter prolific")
        from django.conf import settings

        from studies.recruiters.prolific import study_body

        recruitment = Recruitment(
            study=study,
            recruiter=options["recruiter"],
            places=options["places"],
            reward_cents=_cents(options["reward"]),
        )
        try:
            body = study_body(
                recruitment,
                study_url=study_public_url(study),
                title=study.title,
                description=study.instructions,
                minutes=options["minutes"],
                completion_code=study.completion_code,
                require_public_url=not settings.DEBUG,
            )
        except RecruiterError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write("POST https://api.prolific.com/api/v1/studies/ (not sent)")
        self.stdout.write(json.dumps(body, indent=2))
        if study.status != study.Status.LIVE:
            self.stdout.write(f"note: {study.slug!r} is {study.status}; launch it first")
