from django.core.management.base import BaseCommand

from studies.management.commands._shared import get_study
from studies.study_files import study_config_toml


class Command(BaseCommand):
    help = (
        "Write a study's set-up as a study file (TOML) on standard output: "
        "export_study_config STUDY > study.toml; create_study study.toml makes it again."
    )

    def add_arguments(self, parser):
        parser.add_argument("study", help="the study's slug")

    def handle(self, *args, **options):
        self.stdout.write(study_config_toml(get_study(options["study"])), ending="")
