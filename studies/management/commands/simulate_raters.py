from django.core.management.base import BaseCommand, CommandError

from studies.analysis.simulate import parse_preferences
from studies.models import Study
from studies.rater_simulation import simulate_raters


class Command(BaseCommand):
    help = "Synthetic raters of known preference complete real sessions (dry runs)."

    def add_arguments(self, parser):
        parser.add_argument("study")
        parser.add_argument("--participants", type=int, required=True)
        parser.add_argument(
            "--preferences",
            required=True,
            help='e.g. "foley_music=0.55,wavenet=0.15,samplernn=0.15,gan=0.15"',
        )
        parser.add_argument("--participant-sd", type=float, default=0.0)
        parser.add_argument("--item-sd", type=float, default=0.0)
        parser.add_argument(
            "--position-bias", type=float, default=0.0, help="extra log-odds for slot A"
        )
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **options):
        study = Study.objects.filter(slug=options["study"]).first()
        if study is None:
            raise CommandError(f"no study with slug {options['study']!r}")
        if study.status != Study.Status.LIVE:
            raise CommandError(f"study {study.slug!r} is {study.status}; launch it first")
        if options["participants"] < 1:
            raise CommandError("--participants must be at least 1")
        keys = list(study.systems.values_list("key", flat=True))
        try:
            prefs = parse_preferences(options["preferences"], keys)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

        def progress(done, total):
            if done == total or done % 10 == 0:
                self.stdout.write(f"  {done}/{total} raters")

        n = simulate_raters(
            study=study,
            participants=options["participants"],
            preferences=prefs,
            participant_sd=options["participant_sd"],
            item_sd=options["item_sd"],
            position_bias=options["position_bias"],
            seed=options["seed"],
            progress=progress,
        )
        self.stdout.write(
            self.style.SUCCESS(f"{options['participants']} raters answered {n} trials")
        )
