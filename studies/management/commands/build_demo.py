import os
import secrets
import time
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from foley_models.render.ffmpeg import FFmpegError
from studies.demo import DemoPlan, demo_study_build
from studies.errors import StudyError


class Command(BaseCommand):
    help = (
        "Build the demo study with the real pipeline (synthetic data, the four systems from the "
        "model zoo or, with --retrain, trained within a budget, test-split items, generated "
        "clips), launch it, make sure an admin account exists, and print the admin login and "
        "the participant URL. Safe to run again: data, checkpoints and clips are reused."
    )

    def add_arguments(self, parser):
        d = DemoPlan()
        parser.add_argument("--slug", default=d.slug)
        parser.add_argument("--data-minutes", type=float, default=d.data_minutes)
        parser.add_argument(
            "--piece-seconds", type=float, default=d.piece_s, help="longest synthetic piece"
        )
        parser.add_argument("--preset", default=d.preset, choices=("debug", "small", "paper"))
        parser.add_argument(
            "--train-minutes", type=float, default=d.train_minutes, help="per system"
        )
        parser.add_argument("--max-steps", type=int, default=d.max_steps, help="per system")
        parser.add_argument("--items-per-category", type=int, default=d.items_per_category)
        parser.add_argument("--duration", type=float, default=d.duration_s, help="s per clip")
        parser.add_argument("--device", default=d.device)
        parser.add_argument(
            "--workers",
            type=int,
            default=d.workers,
            help="processes making the clips (default: one per core, up to four)",
        )
        parser.add_argument("--admin-user", default="admin")
        parser.add_argument(
            "--retrain",
            action="store_true",
            help="train every system here (--train-minutes each) instead of using the zoo",
        )

    def handle(self, *args, **options):
        if options["items_per_category"] < 1:
            raise CommandError("--items-per-category must be at least 1")
        if not 1.0 <= options["duration"] <= 60.0:
            raise CommandError("--duration must be between 1 and 60 seconds")
        if options["workers"] < 1:
            raise CommandError("--workers must be at least 1")
        if options["data_minutes"] <= 0 or options["train_minutes"] <= 0:
            raise CommandError("--data-minutes and --train-minutes must be positive")
        plan = DemoPlan(
            slug=options["slug"],
            data_minutes=options["data_minutes"],
            piece_s=options["piece_seconds"],
            preset=options["preset"],
            train_minutes=options["train_minutes"],
            max_steps=options["max_steps"],
            items_per_category=options["items_per_category"],
            duration_s=options["duration"],
            device=options["device"],
            workers=options["workers"],
            retrain=options["retrain"],
        )
        started = time.monotonic()
        self.stdout.write("Building the demo study...")
        try:
            study = demo_study_build(plan, progress=lambda text: self.stdout.write(f"  {text}"))
        except (FFmpegError, StudyError) as exc:
            raise CommandError(str(exc)) from exc
        username, password = self._ensure_admin(options["admin_user"])
        base = settings.PUBLIC_BASE_URL
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo study '{study.title}' is {study.status} "
                f"({time.monotonic() - started:.0f} s)."
            )
        )
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
