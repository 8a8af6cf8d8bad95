from pathlib import Path

import pandas as pd
from django.core.management.base import BaseCommand, CommandError

from studies.analysis.votes import COLUMNS, write_votes
from studies.models import Study
from studies.selectors import study_vote_rows


class Command(BaseCommand):
    help = "Write a study's votes as the tidy CSV of DESIGN.md (one row per trial x criterion)."

    def add_arguments(self, parser):
        parser.add_argument("study", help="the study's slug")
        parser.add_argument("--out", type=Path, required=True)

    def handle(self, *args, **options):
        study = Study.objects.filter(slug=options["study"]).first()
        if study is None:
            raise CommandError(f"no study with slug {options['study']!r}")
        rows = study_vote_rows(study=study)
        write_votes(options["out"], pd.DataFrame(rows, columns=list(COLUMNS)))
        self.stdout.write(f"wrote {len(rows)} vote rows to {options['out']}")
