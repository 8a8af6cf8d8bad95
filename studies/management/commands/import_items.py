from django.core.management.base import BaseCommand, CommandError

from studies.errors import StudyError
from studies.management.commands._shared import get_study
from studies.stimuli.items import items_import


class Command(BaseCommand):
    help = (
        "Add items to a study from a performance dataset (a folder with index.csv, see "
        "docs/reference/dataset-folder.md): windows of one split, cut into silent video, pose, "
        "reference audio and MIDI."
    )

    def add_arguments(self, parser):
        parser.add_argument("study", help="the study's slug")
        parser.add_argument("--data", required=True, help="the dataset folder")
        parser.add_argument("--split", default="test")
        parser.add_argument(
            "--per-category",
            type=int,
            default=4,
            help="items per instrument (4 or more for per-instrument results)",
        )
        parser.add_argument("--duration", type=float, default=6.0, help="seconds per item")
        parser.add_argument("--categories", nargs="+", help="instruments (default: all)")

    def handle(self, *args, **options):
        study = get_study(options["study"])
        if options["per_category"] < 1 or not 1.0 <= options["duration"] <= 60.0:
            raise CommandError("--per-category must be >= 1 and --duration in [1, 60] seconds")
        notes: list[str] = []
        try:
            items = items_import(
                study=study,
                data_dir=options["data"],
                split=options["split"],
                per_category=options["per_category"],
                duration_s=options["duration"],
                categories=tuple(options["categories"] or ()) or None,
                notes=notes,
            )
        except StudyError as exc:
            raise CommandError(str(exc)) from None
        for item in items:
            self.stdout.write(f"  {item.key}  {item.category}  {item.duration_s:.2f} s")
        for note in notes:
            self.stderr.write(f"note: {note}")
        self.stdout.write(f"{len(items)} items in {study.slug}")
