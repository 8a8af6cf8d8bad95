from django.core.management.base import BaseCommand

from studies import services
from studies.management.commands._shared import get_study


class Command(BaseCommand):
    help = "Remove a study's dry-run sessions (simulate_raters) with their trials and votes."

    def add_arguments(self, parser):
        parser.add_argument("study", help="the study's slug")

    def handle(self, *args, **options):
        study = get_study(options["study"])
        sessions, votes = services.simulated_sessions_delete(study=study)
        self.stdout.write(f"removed {sessions} dry-run sessions and their {votes} votes")
