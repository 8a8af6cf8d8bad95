from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from studies.errors import StudyError
from studies.management.commands._shared import get_study, table
from studies.stimuli import clip_import


class Command(BaseCommand):
    help = (
        "Import your own clips into a study: DIR/videos/<item>.mp4 (the performances), "
        "DIR/<system>/<item>.(wav|flac|mp3|ogg|mp4|mov|mkv|webm) (each system's soundtrack) and "
        "optionally DIR/reference/<item>.wav (the recordings), or a manifest CSV (item, system, "
        "path[, category, start_s, end_s]). Every clip goes through the generated clips' "
        "pipeline (duration fit, loudness, encoding, equal sizes). --dry-run lists what would "
        "be imported and every problem without writing anything."
    )

    def add_arguments(self, parser):
        parser.add_argument("study", help="the study's slug")
        parser.add_argument("source", type=Path, help="the folder, or a manifest .csv")
        parser.add_argument("--category", default="", help="instrument of new items")
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument(
            "--tolerance",
            type=float,
            default=clip_import.DURATION_TOLERANCE_S,
            help="seconds a soundtrack may differ from its item's video (it is fitted with "
            "fades); default 0.1",
        )
        parser.add_argument(
            "--keep-system-video",
            action="store_true",
            help="keep the picture of systems that give videos (default: their sound under "
            "the item's video, so every version shows the same picture)",
        )

    def handle(self, *args, **options):
        study = get_study(options["study"])
        if options["tolerance"] < 0:
            raise CommandError("--tolerance must be at least 0")
        try:
            plan = clip_import.plan(
                study=study,
                source=options["source"],
                category=options["category"],
                tolerance_s=options["tolerance"],
                keep_system_video=options["keep_system_video"],
                progress=self._bar("reading"),
            )
        except StudyError as exc:
            raise CommandError(str(exc)) from None
        columns = ["item", "system", "file", "seconds", "action", "problem"]
        self.stdout.write(table(plan.rows(), columns))
        for problem in plan.problems:
            self.stderr.write(f"problem: {problem}")
        todo = sum(s.action in ("import", "replace") for s in plan.clips if not s.problem)
        if options["dry_run"]:
            self.stdout.write(
                f"dry run: {todo} clips would be imported, {len(plan.problems)} problems; "
                "nothing was written"
            )
            return
        outcome = clip_import.run(plan, progress=self._bar("importing"))
        for failure in outcome.failed:
            self.stderr.write(f"failed: {failure}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{outcome.imported} clips imported, {outcome.skipped} already there, "
                f"{len(outcome.failed)} failed; {outcome.items_created} items and "
                f"{outcome.systems_created} systems created; {len(plan.problems)} problems "
                "listed above"
            )
        )

    def _bar(self, what: str):
        def progress(done: int, total: int) -> None:
            width = 30
            filled = int(width * done / max(total, 1))
            end = "\n" if done == total else ""
            self.stderr.write(
                f"\r{what} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}", ending=end
            )
            self.stderr.flush()

        return progress
