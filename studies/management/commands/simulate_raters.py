from django.core.management.base import BaseCommand, CommandError

from studies.analysis.simulate import parse_preferences, parse_scores
from studies.designs import design_of
from studies.management.commands._shared import get_study
from studies.models import Study
from studies.services.rater_simulation import simulate_raters


class Command(BaseCommand):
    help = "Synthetic raters of known preference complete real sessions (dry runs)."

    def add_arguments(self, parser):
        parser.add_argument("study")
        parser.add_argument("--participants", type=int, required=True)
        parser.add_argument(
            "--preferences",
            required=True,
            help='choice designs: shares, e.g. "foley_music=0.55,wavenet=0.15,samplernn=0.15,'
            'gan=0.15"; rating designs: mean scores on the scale, e.g. "foley_music=3.8,'
            'wavenet=2.4" (1-5) or "reference=95,anchor=20,foley_music=70" (MUSHRA 0-100)',
        )
        parser.add_argument(
            "--rating-sd",
            type=float,
            help="rating designs: sd of a rater's score around the mean (default 0.8 on 1-5, "
            "10 on 0-100)",
        )
        parser.add_argument("--participant-sd", type=float, default=0.0)
        parser.add_argument("--item-sd", type=float, default=0.0)
        parser.add_argument(
            "--position-bias", type=float, default=0.0, help="extra log-odds for slot A"
        )
        parser.add_argument("--seed", type=int, default=0)

    def handle(self, *args, **options):
        study = get_study(options["study"])
        if study.status != Study.Status.LIVE:
            raise CommandError(f"study {study.slug!r} is {study.status}; launch it first")
        if options["participants"] < 1:
            raise CommandError("--participants must be at least 1")
        keys = list(study.systems.values_list("key", flat=True))
        design = design_of(study)
        try:
            if design.rated:
                prefs = parse_scores(options["preferences"], keys, design.low, design.high)
            else:
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
            rating_sd=options["rating_sd"],
        )
        self.stdout.write(
            self.style.SUCCESS(f"{options['participants']} raters answered {n} trials")
        )
