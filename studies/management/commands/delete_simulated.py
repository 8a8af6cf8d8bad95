from django.core.management.base import BaseCommand, CommandError

from studies import services
from studies.models import Study


class Command(BaseCommand):
    help = "Remove a study's dry-run sessions (simulate_raters) with their trials and votes."

    def add_arguments(self, parser):
        parser.add_argument("study", help="the study's slug")

    def handle(self, *args, **options):
        study = Study.objects.filter(slug=options["study"]).first()
        if study is None:
            raise CommandError(f"no study with slug {options['study']!r}")
        sessions, votes = services.simulated_sessions_delete(study=study)
        self.stdout.write(f"removed {sessions} dry-run sessions and their {votes} votes")
