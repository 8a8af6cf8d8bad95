import numpy as np
from django.core.management.base import BaseCommand, CommandError

from studies.analysis.estimates import MIN_ITEMS_FOR_INTERVAL
from studies.analysis.simulate import difference_power, parse_preferences, parse_scores
from studies.analysis.simulate_designs import SCALES, design_difference_power


def _ints(text: str) -> list[int]:
    try:
        values = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise CommandError(f"{text!r} is not a comma-separated list of integers") from None
    if not values or values[0] < 1:
        raise CommandError(f"{text!r} must list positive integers")
    return values


class Command(BaseCommand):
    help = (
        "Simulation-based power for the planned comparison (system A vs B: preference share, "
        "judged-real share, Bradley-Terry strength or mean score, by --design) under "
        "participant and item clustering; prints the smallest design reaching the power."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--design",
            default="best_of",
            choices=["best_of", "real_or_generated", "pairwise", "rating", "mushra"],
            help="the study design to size (default best_of)",
        )
        parser.add_argument(
            "--preferences",
            required=True,
            help="choice designs: shares per system (a=0.5,b=0.3,...); rating and mushra: "
            "mean scores on the scale (a=3.9,b=3.2 or a=70,b=55)",
        )
        parser.add_argument(
            "--reference",
            help="real_or_generated: the reference system among --preferences (its share is "
            "how real the recording sounds against the others)",
        )
        parser.add_argument(
            "--rating-sd", type=float, help="rating noise (default 0.8 on 1-5, 10 on 0-100)"
        )
        parser.add_argument("--compare", required=True, help="A,B: the two systems to compare")
        parser.add_argument("--participant-sd", type=float, default=0.8)
        parser.add_argument("--item-sd", type=float, default=0.8)
        parser.add_argument("--participants", default="20,40,60,80,120")
        parser.add_argument("--trials", default="10,20", help="trials per participant")
        parser.add_argument("--items", default="20,40,80")
        parser.add_argument("--power", type=float, default=0.8)
        parser.add_argument("--sims", type=int, default=100)
        parser.add_argument("--bootstrap", type=int, default=200)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--categories",
            type=int,
            default=1,
            help="instruments the items are spread over (for per-instrument claims)",
        )

    def handle(self, *args, **options):
        design = options["design"]
        try:
            if design in SCALES:
                low, high = SCALES[design]
                names = [p.partition("=")[0].strip() for p in options["preferences"].split(",")]
                prefs = parse_scores(options["preferences"], [n for n in names if n], low, high)
            else:
                prefs = parse_preferences(options["preferences"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if design == "real_or_generated" and options["reference"] not in prefs:
            raise CommandError("real_or_generated needs --reference, one of the --preferences")
        pair = [s.strip() for s in options["compare"].split(",")]
        if len(pair) != 2 or not all(s in prefs for s in pair):
            raise CommandError(f"--compare needs two of: {', '.join(prefs)}")
        if not 0 < options["power"] < 1:
            raise CommandError("--power must be between 0 and 1")
        if options["categories"] < 1:
            raise CommandError("--categories must be at least 1")
        few = sorted(
            i
            for i in _ints(options["items"])
            if i // options["categories"] < MIN_ITEMS_FOR_INTERVAL
        )
        if few:
            self.stdout.write(
                self.style.WARNING(
                    f"Designs with {', '.join(map(str, few))} items give fewer than "
                    f"{MIN_ITEMS_FOR_INTERVAL} items per instrument over {options['categories']} "
                    "instruments: fine for the pooled comparison, but the report shows no "
                    "per-instrument interval or test for them (too few items to generalise)."
                )
            )
        designs = sorted(
            (
                (p, t, i)
                for p in _ints(options["participants"])
                for t in _ints(options["trials"])
                for i in _ints(options["items"])
            ),
            key=lambda d: (d[0] * d[1], d[2], d[0]),
        )
        self.stdout.write(
            f"{'participants':>12} {'trials':>6} {'items':>5} {'votes':>6} {'power':>6}"
        )
        common = dict(
            participant_sd=options["participant_sd"],
            item_sd=options["item_sd"],
            sims=options["sims"],
            b=options["bootstrap"],
            seed=options["seed"],
        )
        for participants, trials, items in designs:
            shape = dict(participants=participants, trials=trials, items=items)
            if design == "best_of":
                power = difference_power(prefs, pair[0], pair[1], **shape, **common)
            else:
                quality = prefs if design in SCALES else {k: np.log(v) for k, v in prefs.items()}
                noise = options["rating_sd"] or (10.0 if design == "mushra" else 0.8)
                power = design_difference_power(
                    design, quality, pair[0], pair[1], **shape, **common,
                    reference=options["reference"], noise_sd=noise,
                )  # fmt: skip
            self.stdout.write(
                f"{participants:>12} {trials:>6} {items:>5} "
                f"{participants * trials:>6} {power:>6.2f}"
            )
            if power >= options["power"]:
                self.stdout.write(
                    self.style.SUCCESS(
                        f"Smallest design reaching power {options['power']}: {participants} "
                        f"participants x {trials} trials on {items} items "
                        f"({participants * trials} votes per criterion)."
                    )
                )
                return
        self.stdout.write(
            self.style.WARNING(
                "No design in the grid reaches the asked power; widen --participants/--items."
            )
        )
