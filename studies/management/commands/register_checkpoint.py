from django.core.management.base import BaseCommand, CommandError

from studies.errors import StudyError
from studies.management.commands._shared import get_study
from studies.stimuli.checkpoints import checkpoint_register


class Command(BaseCommand):
    help = (
        "Register a trained checkpoint (system key, preset, config and hash are read from the "
        "file) and, with --study and --system, make it that system's generator."
    )

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--study", help="the study's slug")
        parser.add_argument("--system", help="the system key in that study")

    def handle(self, *args, **options):
        if bool(options["study"]) != bool(options["system"]):
            raise CommandError("--study and --system go together")
        try:
            checkpoint = checkpoint_register(path=options["path"])
        except StudyError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Registered {checkpoint.system_key} ({checkpoint.preset}, step {checkpoint.step}) "
            f"sha256 {checkpoint.sha256[:12]}"
        )
        if options["study"]:
            study = get_study(options["study"])
            system = study.systems.filter(key=options["system"]).first()
            if system is None:
                raise CommandError(f"{study.slug} has no system {options['system']!r}")
            system.checkpoint = checkpoint
            system.save(update_fields=["checkpoint"])
            self.stdout.write(f"{study.slug}/{system.key} now generates with it")
