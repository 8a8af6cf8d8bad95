from pathlib import Path

import pandas as pd
from django.core.management.base import BaseCommand

from studies.analysis.study_info import sidecar_path, write_study_info
from studies.analysis.votes import COLUMNS, write_votes
from studies.management.commands._shared import get_study
from studies.selectors import study_info, study_vote_rows


class Command(BaseCommand):
    help = (
        "Write a study's votes as the tidy CSV of docs/reference/votes-csv.md (one row per "
        "trial x criterion), "
        "and beside it the study file (systems in order with their names, criteria, quality-"
        "control settings) that `analyze --votes` reads: votes.csv -> votes.study.json."
    )

    def add_arguments(self, parser):
        parser.add_argument("study", help="the study's slug")
        parser.add_argument("--out", type=Path, required=True)
        parser.add_argument(
            "--include-simulated",
            action="store_true",
            help="include dry-run sessions (simulate_raters), which are left out by default",
        )

    def handle(self, *args, **options):
        study = get_study(options["study"])
        rows = study_vote_rows(study=study, include_simulated=options["include_simulated"])
        write_votes(options["out"], pd.DataFrame(rows, columns=list(COLUMNS)))
        info = write_study_info(sidecar_path(options["out"]), study_info(study=study))
        self.stdout.write(f"wrote {len(rows)} vote rows to {options['out']} (study file: {info})")
