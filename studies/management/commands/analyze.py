import dataclasses
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from studies.analysis.qc import QCSettings
from studies.analysis.study_info import read_study_info, sidecar_path
from studies.analysis.votes import VotesError, read_votes, votes_from_rows
from studies.management.commands._shared import get_study
from studies.selectors import study_info, study_vote_rows


class Command(BaseCommand):
    help = (
        "Analyse a study (or a votes CSV and its study file) of any design: quality control, "
        "then best_of shares, real_or_generated judged-real shares, pairwise Bradley-Terry "
        "strengths or rating/MUSHRA means, with two-way cluster bootstrap intervals and tests; "
        "tables, figures (PNG, SVG, PDF) and a report."
    )

    def add_arguments(self, parser):
        parser.add_argument("study", nargs="?", help="the study's slug (or use --votes)")
        parser.add_argument(
            "--votes",
            type=Path,
            help="a votes CSV instead of a study (or a replication package's folder: its "
            "votes.csv)",
        )
        parser.add_argument(
            "--study-file",
            type=Path,
            help="the study file of --votes (default: the one export_votes wrote beside it, "
            "votes.csv -> votes.study.json): system order and names, criteria, QC settings",
        )
        parser.add_argument("--out", type=Path, required=True)
        parser.add_argument(
            "--include-simulated",
            action="store_true",
            help="include dry-run sessions (simulate_raters), which are left out by default",
        )
        parser.add_argument("--bootstrap", type=int, default=2000, help="replicates (B)")
        parser.add_argument(
            "--objective",
            action="store_true",
            help="also score every clip with the objective metrics (against its item's motion, "
            "reference MIDI and recording; cached per clip) and report them beside the votes",
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--max-failed-checks", type=int)
        parser.add_argument("--min-trial-seconds", type=float)
        parser.add_argument("--max-same-slot-share", type=float)
        parser.add_argument(
            "--min-heard-fraction",
            type=float,
            help="leave out trials where a version was audible for less than this share",
        )
        parser.add_argument(
            "--max-hidden-seconds", type=float, help="leave out trials hidden for longer"
        )
        parser.add_argument(
            "--max-av-delay-ms",
            type=float,
            help="leave raters whose measured audio delay is above this out of synchronization "
            "(the analysis with every rater goes to OUT/every_rater/)",
        )

    def handle(self, *args, **options):
        if bool(options["study"]) == bool(options["votes"]):
            raise CommandError("give a study slug or --votes FILE (one of them)")
        if options["objective"] and not options["study"]:
            raise CommandError("--objective needs a study slug: it scores the study's clips")
        if options["bootstrap"] < 100:
            raise CommandError("--bootstrap must be at least 100")
        info = None
        if options["votes"] and options["votes"].is_dir():
            options["votes"] = options["votes"] / "votes.csv"  # a replication package
        if options["study"]:
            study = get_study(options["study"])
            info = study_info(study=study)
            rows = study_vote_rows(study=study, include_simulated=options["include_simulated"])
            if not rows:
                dry = (
                    ""
                    if options["include_simulated"]
                    else (
                        " from real sessions (dry runs of simulate_raters are left out unless "
                        "--include-simulated)"
                    )
                )
                raise CommandError(
                    f"study {study.slug!r} has no votes yet{dry}; nothing to analyse"
                )
            votes = votes_from_rows(rows)  # the same validation as a CSV gets
        else:
            try:
                votes = read_votes(options["votes"])
            except VotesError as exc:
                raise CommandError(str(exc)) from exc
            if votes.empty:
                raise CommandError(f"{options['votes']} has no vote rows; nothing to analyse")
            info = self._study_file(options["votes"], options["study_file"])
        qc = info.qc if info else None
        overrides = {
            "max_failed_checks": options["max_failed_checks"],
            "min_trial_seconds": options["min_trial_seconds"],
            "max_same_slot_share": options["max_same_slot_share"],
            "min_heard_fraction": options["min_heard_fraction"],
            "max_hidden_seconds": options["max_hidden_seconds"],
            "max_av_delay_ms": options["max_av_delay_ms"],
        }
        qc = dataclasses.replace(
            qc or QCSettings(), **{k: v for k, v in overrides.items() if v is not None}
        )
        from studies.analysis.prepare import design_of_votes
        from studies.designs import design_named

        design = design_named(design_of_votes(votes))
        if info is not None and info.design != design.key:
            raise CommandError(
                f"the votes are of design {design.key!r} but the study file says {info.design!r}"
            )
        if options["objective"] and design.key != "best_of":
            raise CommandError(
                "--objective compares metrics with preference shares: best_of studies only"
            )
        objective = None
        if options["objective"]:
            from studies.stimuli.objective import study_clip_metrics  # torch, onnxruntime

            def progress(done: int, total: int) -> None:
                if done == total or done % 50 == 0:
                    self.stderr.write(f"objective metrics: {done} of {total} clips")

            objective = study_clip_metrics(study=study, progress=progress)
        try:
            summary = design.analyze(
                votes,
                qc=qc,
                b=options["bootstrap"],
                seed=options["seed"],
                level=0.95,
                info=info,
                objective=objective,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        written = design.write_outputs(summary, options["out"])
        ex = summary["exclusions"]
        delayed = ex["rules"].get("av_delay", {}).get("votes", 0)
        if delayed:
            # Synchronization with and without the raters above the delay threshold.
            every = design.analyze(
                votes,
                qc=dataclasses.replace(qc, max_av_delay_ms=0.0),
                b=options["bootstrap"],
                seed=options["seed"],
                level=0.95,
                info=info,
                objective=objective,
            )
            written += design.write_outputs(every, options["out"] / "every_rater")
            self.stdout.write(
                f"{delayed} synchronization votes of {ex['rules']['av_delay']['sessions']} "
                f"raters above {qc.max_av_delay_ms:g} ms of audio delay left out; with them: "
                f"{options['out'] / 'every_rater'}"
            )
        self.stdout.write(
            f"{ex['votes_kept']} of {ex['votes_in']} votes kept after quality "
            f"control; wrote {len(written)} files to {options['out']}"
        )

    def _study_file(self, votes: Path, given: Path | None):
        path = given or sidecar_path(votes)
        if given is None and not path.is_file():
            self.stderr.write(
                f"note: no study file {path} beside the votes; using the default quality-"
                "control settings, system keys as names and systems in order of first "
                "appearance (export_votes writes the study file; or pass --study-file)"
            )
            return None
        try:
            return read_study_info(path)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
