from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from studies.management.commands._shared import get_study
from studies.replication import export_study


class Command(BaseCommand):
    help = (
        "Write a study's replication package: its set-up, the stimulus manifest (sha256 of "
        "every clip, provenance, loudness), the votes with pseudonymous participants, the "
        "sessions, the analysis outputs and a README; --with-media adds the stimuli."
    )

    def add_arguments(self, parser):
        parser.add_argument("study", help="the study's slug")
        parser.add_argument("--out", type=Path, required=True, help="a new (or empty) folder")
        parser.add_argument("--with-media", action="store_true")
        parser.add_argument("--include-simulated", action="store_true")
        parser.add_argument("--bootstrap", type=int, default=2000)

    def handle(self, *args, **options):
        study = get_study(options["study"])
        try:
            counts = export_study(
                study=study,
                out=options["out"],
                with_media=options["with_media"],
                include_simulated=options["include_simulated"],
                bootstrap=options["bootstrap"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"wrote {options['out']}: {counts['n_votes']} vote rows, {counts['n_clips']} "
            f"clips, {counts['n_sessions']} participants (pseudonymised)"
        )
