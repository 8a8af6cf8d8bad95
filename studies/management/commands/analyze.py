import tempfile
from pathlib import Path

import pandas as pd
from django.core.management.base import BaseCommand, CommandError

from studies.analysis.qc import QCSettings
from studies.analysis.report import analyze, write_outputs
from studies.analysis.votes import COLUMNS, VotesError, read_votes, write_votes
from studies.models import Study
from studies.selectors import study_vote_rows


class Command(BaseCommand):
    help = (
        "Analyse a study (or a votes CSV): quality control, shares with two-way cluster "
        "bootstrap and Wilson intervals, tests, agreement, position bias; tables, plots, report."
    )

    def add_arguments(self, parser):
        parser.add_argument("study", nargs="?", help="the study's slug (or use --votes)")
        parser.add_argument("--votes", type=Path, help="a votes CSV instead of a study")
        parser.add_argument("--out", type=Path, required=True)
        parser.add_argument("--bootstrap", type=int, default=2000, help="replicates (B)")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--max-failed-checks", type=int)
        parser.add_argument("--min-trial-seconds", type=float)
        parser.add_argument("--max-same-slot-share", type=float)

    def handle(self, *args, **options):
        if bool(options["study"]) == bool(options["votes"]):
            raise CommandError("give a study slug or --votes FILE (one of them)")
        if options["bootstrap"] < 100:
            raise CommandError("--bootstrap must be at least 100")
        qc = QCSettings()
        if options["study"]:
            study = Study.objects.filter(slug=options["study"]).first()
            if study is None:
                raise CommandError(f"no study with slug {options['study']!r}")
            qc = QCSettings(
                study.qc_max_failed_checks,
                study.qc_min_trial_seconds,
                study.qc_max_same_slot_share,
                study.qc_require_played_all,
            )
            rows = study_vote_rows(study=study)
            if not rows:
                raise CommandError(f"study {study.slug!r} has no votes yet; nothing to analyse")
            with tempfile.TemporaryDirectory() as tmp:  # the same validation as a CSV gets
                path = write_votes(
                    Path(tmp) / "votes.csv", pd.DataFrame(rows, columns=list(COLUMNS))
                )
                votes = read_votes(path)
        else:
            try:
                votes = read_votes(options["votes"])
            except VotesError as exc:
                raise CommandError(str(exc)) from exc
            if votes.empty:
                raise CommandError(f"{options['votes']} has no vote rows; nothing to analyse")
        qc = QCSettings(
            options["max_failed_checks"]
            if options["max_failed_checks"] is not None
            else qc.max_failed_checks,
            options["min_trial_seconds"]
            if options["min_trial_seconds"] is not None
            else qc.min_trial_seconds,
            options["max_same_slot_share"]
            if options["max_same_slot_share"] is not None
            else qc.max_same_slot_share,
            qc.require_played_all,
        )
        try:
            summary = analyze(votes, qc=qc, b=options["bootstrap"], seed=options["seed"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        written = write_outputs(summary, options["out"])
        ex = summary["exclusions"]
        self.stdout.write(
            f"{ex['votes_kept']} of {ex['votes_in']} votes kept after quality "
            f"control; wrote {len(written)} files to {options['out']}"
        )
