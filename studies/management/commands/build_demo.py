import os
import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from foley_models.render.ffmpeg import FFmpegError
from studies.demo import demo_study_build
from studies.errors import StudyNotReady


class Command(BaseCommand):
    help = (
        "Build the demo study (test-pattern clips for now), launch it, make sure an admin account "
        "exists, and print the admin login and the participant URL. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--slug", default="demo")
        parser.add_argument("--items-per-category", type=int, default=2)
        parser.add_argument("--duration", type=float, default=6.0, help="Seconds per clip.")
        parser.add_argument("--admin-user", default="admin")

    def handle(self, *args, **options):
        if options["items_per_category"] < 1:
            raise CommandError("--items-per-category must be at least 1")
        if not 1.0 <= options["duration"] <= 60.0:
            raise CommandError("--duration must be between 1 and 60 seconds")

        def progress(done: int, total: int, key: str) -> None:
            self.stdout.write(f"  [{done}/{total}] {key}")

        self.stdout.write("Building the demo study...")
        try:
            study = demo_study_build(
                slug=options["slug"],
                items_per_category=options["items_per_category"],
                duration_s=options["duration"],
                progress=progress,
            )
        except (FFmpegError, StudyNotReady) as exc:
            raise CommandError(str(exc)) from exc
        username, password = self._ensure_admin(options["admin_user"])
        base = settings.PUBLIC_BASE_URL
        self.stdout.write(self.style.SUCCESS(f"Demo study '{study.title}' is {study.status}."))
        self.stdout.write(f"Admin:           {base}{reverse('admin:index')}")
        self.stdout.write(f"  user:          {username}")
        self.stdout.write(f"  password:      {password}")
        self.stdout.write(f"Participant URL: {base}{reverse('studies:arrive', args=[study.slug])}")

    def _ensure_admin(self, username: str) -> tuple[str, str]:
        """Create the admin once, with DEMO_ADMIN_PASSWORD or a random password kept in
        DATA_DIR/demo-admin-password. An existing account's password is changed only when
        DEMO_ADMIN_PASSWORD is set."""
        secret_file = Path(settings.DATA_DIR) / "demo-admin-password"
        User = get_user_model()
        user = User.objects.filter(username=username).first()
        wanted = os.environ.get("DEMO_ADMIN_PASSWORD", "")
        if user is not None and not wanted:
            if secret_file.exists() and user.check_password(secret_file.read_text().strip()):
                return username, secret_file.read_text().strip()
            return username, "(unchanged; set DEMO_ADMIN_PASSWORD to reset it)"
        password = wanted or secrets.token_urlsafe(12)
        if user is None:
            user = User.objects.create_superuser(username=username, email="", password=password)
        else:
            user.set_password(password)
            user.save()
        secret_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = secret_file.with_suffix(".tmp")
        tmp.write_text(password + "\n")
        tmp.chmod(0o600)
        tmp.replace(secret_file)
        return username, password
