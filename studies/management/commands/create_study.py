from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from studies.errors import StudyError
from studies.study_files import (
    StudyFileError,
    parse_study_file,
    study_from_spec,
    study_items_import,
)


class Command(BaseCommand):
    help = (
        "Make a whole study from a study file (TOML; see docs/reference/study-file.md): "
        "texts, design, questions, systems with their checkpoints, session, QC, "
        "screening and recruitment settings, and its items from a dataset or a clips folder. "
        "Every problem in the file is named by line and key, and nothing is written then."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--slug", help="use this slug instead of the file's")
        parser.add_argument(
            "--no-items", action="store_true", help="make the study without its [items]"
        )

    def handle(self, *args, **options):
        try:
            spec = parse_study_file(options["file"], slug=options["slug"])
            study = study_from_spec(spec)
        except (StudyFileError, StudyError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"made study {study.slug!r} ({study.design}, {study.systems.count()} systems)"
        )
        if not options["no_items"]:
            try:
                self.stdout.write(study_items_import(spec, study))
            except StudyError as exc:
                raise CommandError(f"study {study.slug!r} was made, its items not: {exc}") from None
