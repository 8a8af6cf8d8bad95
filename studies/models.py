"""The study data model: what a study compares, who took part, and every answer they gave.

Blinding rule for this module's users: system, clip and check fields live on the server only.
What a participant's browser sees is a trial index, slot letters and opaque slot tokens.
"""

import secrets
import uuid
from pathlib import PurePosixPath

from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q

SLOT_LABELS = "ABCDEFGH"
MIN_SYSTEMS, MAX_SYSTEMS = 2, 6


class Design(models.TextChoices):
    """What a trial shows and asks (studies.designs holds one module per design)."""

    BEST_OF = "best_of", "Best of N: every system's version, pick the best per question"
    REAL_OR_GENERATED = "real_or_generated", "Real or generated: reference vs one system"
    PAIRWISE = "pairwise", "Pairwise: two systems' versions, pick the better per question"
    RATING = "rating", "Rating: a 1-5 score per version and question (ITU-T P.808 ACR)"
    MUSHRA = "mushra", "MUSHRA: 0-100 sliders, hidden reference and anchor (ITU-R BS.1534)"


DEFAULT_CRITERIA: tuple[tuple[str, str], ...] = (
    ("correctness", "In which video does the music best fit what the musician is playing?"),
    ("noise", "Which video's music has the least noise and distortion?"),
    ("synchronization", "In which video is the music best in time with the musician's movements?"),
    ("overall", "Overall, which video's music do you prefer?"),
)

key_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9_\-]{0,63}$",
    "Use lowercase letters, digits, '_' and '-' (at most 64 characters).",
)


def new_token() -> str:
    """An unguessable URL-safe token (128 bits)."""
    return secrets.token_urlsafe(16)


def new_completion_code() -> str:
    return secrets.token_hex(4).upper()


def _random_name(folder: str, filename: str) -> str:
    """Stored names never carry the uploaded name (which often names the system)."""
    suffix = PurePosixPath(filename).suffix.lower()[:8] or ".bin"
    return f"{folder}/{uuid.uuid4().hex}{suffix}"


def clip_upload_to(instance: "Clip", filename: str) -> str:
    return _random_name("clips", filename)


def check_clip_upload_to(instance: "CheckClip", filename: str) -> str:
    return _random_name("clips", filename)


def item_upload_to(instance: "Item", filename: str) -> str:
    return _random_name("items", filename)


class Study(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        LIVE = "live", "Live"
        PAUSED = "paused", "Paused"
        CLOSED = "closed", "Closed"

    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=64, unique=True)
    instructions = models.TextField(
        default="You will watch short videos of a musician. Each video is shown several times with "
        "different music. Play every version to the end, then answer each question by choosing "
        "the version that fits best. Please wear headphones."
    )
    consent_text = models.TextField(
        default="This study is part of research on music generation. Taking part is voluntary; "
        "you may stop at any time. We store your answers and playback events with an anonymous "
        "identifier only."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    design = models.CharField(
        max_length=20,
        choices=Design.choices,
        default=Design.BEST_OF,
        help_text="What a trial shows and asks. Real or generated and MUSHRA need a reference "
        "system (the item's own recording); MUSHRA also an anchor.",
    )
    allow_no_preference = models.BooleanField(
        default=False,
        help_text="Pairwise only: offer 'No preference' (counted as half a win for each).",
    )
    versions_per_trial = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(6)],
        help_text="Rating only: versions rated on one page (1 = one version per page); "
        "0 = every system's version.",
    )
    trials_per_session = models.PositiveIntegerField(
        default=8,
        validators=[MinValueValidator(1), MaxValueValidator(200)],
        help_text="Rated trials per session, not counting the check trials below (a session "
        "shows both, checks mixed in).",
    )
    check_trials_per_session = models.PositiveIntegerField(
        default=2,
        validators=[MaxValueValidator(50)],
        help_text="Check trials (noise and sync catch trials) added to each session's rated "
        "trials; their answers are not votes.",
    )
    target_votes_per_item = models.PositiveIntegerField(
        default=20,
        help_text="Valid votes wanted per item and criterion.",
        validators=[MinValueValidator(1)],
    )
    lease_minutes = models.PositiveIntegerField(
        default=30,
        help_text="An unanswered trial counts as in progress for this long, then frees its item.",
        validators=[MinValueValidator(1)],
    )
    # Quality-control thresholds (applied by review and analysis).
    qc_max_failed_checks = models.PositiveIntegerField(
        default=1, help_text="Sessions failing more check trials than this are excluded."
    )
    qc_min_trial_seconds = models.FloatField(
        default=2.0,
        help_text="Answers given faster than this after the last clip ended are implausibly fast.",
        validators=[MinValueValidator(0.0)],
    )
    qc_max_same_slot_share = models.FloatField(
        default=1.0,
        help_text="Sessions choosing one slot for more than this share of answers are flagged.",
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
    )
    qc_require_played_all = models.BooleanField(
        default=True,
        help_text="Votes count only for trials where every version was played to its end.",
    )
    screening = models.BooleanField(
        default=False,
        help_text="Before the trials: a device check (screen size, playback allowed), volume "
        "set-up with an audio check, and a headphone check (Huggins pitch). Participants who "
        "fail are asked to return the study, never rejected.",
    )
    headphone_trials = models.PositiveIntegerField(
        default=6, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    headphone_min_correct = models.PositiveIntegerField(
        default=4, help_text="Huggins-pitch trials that must be answered right (out of the above)."
    )
    bonus_cents = models.PositiveIntegerField(
        default=0,
        help_text="Bonus per participant in the 'pay' tier (worked: played every clip, "
        "answered), paid by `pay_bonuses`, in cents.",
    )
    completion_code = models.CharField(
        max_length=32,
        default=new_completion_code,
        help_text="The code Prolific expects on completion (the study's completion code there).",
    )
    screenout_code = models.CharField(
        max_length=32,
        default=new_completion_code,
        help_text="The code a participant screened out by the checks before the trials is given "
        "(on Prolific: a separate completion code with a fixed screen-out payment).",
    )
    screenout_reward_cents = models.PositiveIntegerField(
        default=20,
        help_text="Fixed payment for a screened-out participant (Prolific), in cents.",
    )
    accept_local_arrivals = models.BooleanField(
        default=True,
        help_text="Let people without a recruiter identity (no Prolific or MTurk parameters) "
        "start with a local code. Turn off for a paid crowd study.",
    )
    player = models.CharField(
        max_length=10,
        choices=[
            ("separate", "Separate videos, one after another"),
            ("switch", "One video, soundtracks switched in place"),
        ],
        default="separate",
        help_text="How a trial with several versions plays: each version as its own video, "
        "or one muted video with every soundtrack decoded up front and switched in place "
        "(keys 1-N) while it plays.",
    )
    switch_heard_fraction = models.FloatField(
        default=1.0,
        validators=[MinValueValidator(0.1), MaxValueValidator(1.0)],
        help_text="Switching player: a version counts as heard once it was audible for this "
        "fraction of the item's duration in total (1.0 = the whole duration).",
    )
    latency_check = models.BooleanField(
        default=False,
        help_text="In screening: a tap-along task (flashes, then beeps) that estimates the "
        "rater's audio delay against the picture (Bluetooth headphones add 100-300 ms).",
    )
    max_av_delay_ms = models.PositiveIntegerField(
        default=0,
        validators=[MaxValueValidator(1000)],
        help_text="Raters whose estimated audio delay is above this are left out of the "
        "synchronization criterion by analysis (0 = keep everyone). ITU-R BT.1359 puts the "
        "detection threshold near 125 ms of late audio.",
    )
    latency_screen_out = models.BooleanField(
        default=False,
        help_text="Screen out raters above the delay threshold from the whole study instead.",
    )
    latency_compensate = models.BooleanField(
        default=True,
        help_text="Switching player: play each soundtrack earlier by the rater's measured "
        "delay, so that it reaches their ears in sync with the picture.",
    )
    qc_min_heard_fraction = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Analysis leaves out trials where some version was audible for less than "
        "this fraction of its duration (0 = no such rule).",
    )
    qc_max_hidden_seconds = models.FloatField(
        default=0.0,
        validators=[MinValueValidator(0.0)],
        help_text="Analysis leaves out trials whose page was hidden (another tab or window) "
        "for longer than this (0 = no such rule).",
    )
    max_skipped_trials = models.PositiveIntegerField(
        default=2,
        help_text="Trials a participant may skip because a video would not load; one more ends "
        "the session with the screen-out code (a connection problem, not the rater's fault).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    launched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "studies"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.title


class Criterion(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="criteria")
    key = models.CharField(max_length=64, validators=[key_validator])
    question = models.CharField(max_length=300)
    order = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["study", "key"], name="criterion_key_unique_in_study")
        ]
        verbose_name_plural = "criteria"

    def __str__(self) -> str:
        return self.key


class Checkpoint(models.Model):
    """A trained generator on disk, registered from its self-describing file (see
    foley_models.models.checkpoint). Systems of any study can point to it."""

    path = models.CharField(
        max_length=500, unique=True, help_text="Absolute path of the .pt file on the server."
    )
    sha256 = models.CharField(max_length=64, editable=False)
    system_key = models.CharField(max_length=64, editable=False, help_text="foley_music, ...")
    preset = models.CharField(max_length=32, editable=False, blank=True)
    config = models.JSONField(default=dict, editable=False)
    step = models.PositiveIntegerField(null=True, editable=False)
    format_version = models.PositiveIntegerField(editable=False)
    size_bytes = models.PositiveBigIntegerField(editable=False)
    registered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-registered_at"]

    def __str__(self) -> str:
        return (
            f"{self.system_key} {self.preset} ({PurePosixPath(self.path).name}, step {self.step})"
        )


class SystemRole(models.TextChoices):
    GENERATED = "generated", "Generated (a model's output)"
    REFERENCE = "reference", "Reference (the item's own recording)"
    ANCHOR = "anchor", "Anchor (the recording low-passed at 3.5 kHz, for MUSHRA)"


class System(models.Model):
    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="systems")
    role = models.CharField(
        max_length=10,
        choices=SystemRole.choices,
        default=SystemRole.GENERATED,
        help_text="Reference and anchor clips are made from the item's own recording by the "
        "same pipeline as every other clip (no checkpoint).",
    )
    key = models.CharField(max_length=64, validators=[key_validator])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    checkpoint = models.ForeignKey(
        Checkpoint,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="systems",
        help_text="The trained generator that makes this system's clips (generate_clips).",
    )
    sampling = models.JSONField(
        default=dict,
        blank=True,
        help_text='Keyword arguments for generate(), e.g. {"greedy": false, "top_p": 0.9}.',
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["study", "key"], name="system_key_unique_in_study")
        ]

    def __str__(self) -> str:
        return self.name


class Item(models.Model):
    """One silent performance video; every system makes one soundtrack for it."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="items")
    key = models.CharField(max_length=64, validators=[key_validator])
    category = models.CharField(max_length=64, help_text="Instrument category, e.g. piano.")
    duration_s = models.FloatField(validators=[MinValueValidator(0.1)])
    video = models.FileField(upload_to=item_upload_to, blank=True, help_text="Silent video.")
    reference_audio = models.FileField(upload_to=item_upload_to, blank=True)
    reference_midi = models.FileField(upload_to=item_upload_to, blank=True)
    pose = models.FileField(
        upload_to=item_upload_to,
        blank=True,
        help_text=(
            "Keypoints of the video, .npy in a layout of docs/reference/pose-layouts.md; the "
            "systems' input."
        ),
    )
    layout = models.CharField(
        max_length=16,
        default="body65",
        choices=[("body65", "body65 (body + hands)"), ("hands", "hands (two hands)")],
        help_text="The pose layout (docs/reference/pose-layouts.md).",
    )
    fps = models.FloatField(null=True, blank=True, help_text="Frame rate of the pose and video.")
    source = models.CharField(
        max_length=300, blank=True, help_text="Where the item was cut from (dataset, performance)."
    )
    # How many trials have shown this item; drives the Latin-square slot order.
    times_allocated = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["study", "key"], name="item_key_unique_in_study")
        ]

    def __str__(self) -> str:
        return self.key


class Clip(models.Model):
    """The item's video with one system's soundtrack."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="clips")
    system = models.ForeignKey(System, on_delete=models.CASCADE, related_name="clips")
    media = models.FileField(upload_to=clip_upload_to)
    duration_s = models.FloatField(validators=[MinValueValidator(0.1)])
    loudness_lufs = models.FloatField(null=True, blank=True)
    provenance = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item_id", "system_id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "system"], name="one_clip_per_item_system")
        ]

    def __str__(self) -> str:
        return f"{self.item.key} / {self.system.key}"


class CheckKind(models.TextChoices):
    NOISE = "noise", "Noise (one clean slot, the others noisy)"
    SYNC = "sync", "Synchronization (one aligned slot, the others shifted)"


# The criterion a check kind tests; its question is the one the check answer belongs to.
CHECK_CRITERION_KEY = {CheckKind.NOISE: "noise", CheckKind.SYNC: "synchronization"}


class CheckClip(models.Model):
    """Check-trial material made from an item: the target is the right answer, foils are wrong."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="check_clips")
    kind = models.CharField(max_length=10, choices=CheckKind.choices)
    is_target = models.BooleanField(
        help_text="The clean (noise check) or aligned (sync check) version."
    )
    media = models.FileField(upload_to=check_clip_upload_to)
    duration_s = models.FloatField(validators=[MinValueValidator(0.1)])
    provenance = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["item_id", "kind", "-is_target", "id"]

    def __str__(self) -> str:
        role = "target" if self.is_target else "foil"
        return f"{self.item.key} {self.kind} {role}"


class Participant(models.Model):
    class Source(models.TextChoices):
        LOCAL = "local", "Local link or code"
        PROLIFIC = "prolific", "Prolific"
        MTURK = "mturk", "MTurk"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="participants")
    source = models.CharField(max_length=10, choices=Source.choices)
    external_id = models.CharField(max_length=128)
    # Recruiter parameters seen on arrival (Prolific STUDY_ID/SESSION_ID, MTurk assignment...).
    recruiter_data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["study", "source", "external_id"], name="one_participant_per_identity"
            )
        ]

    def __str__(self) -> str:
        return f"{self.source}:{self.external_id}"


class Session(models.Model):
    class Status(models.TextChoices):
        CONSENT = "consent", "Awaiting consent"
        SCREENING = "screening", "Screening"
        SCREENED_OUT = "screened", "Screened out (asked to return)"
        ACTIVE = "active", "In progress"
        COMPLETED = "completed", "Completed"
        # The platform says the participant returned the study or timed out: they withdrew, so
        # their votes are not used and their unanswered trials go back to allocation.
        ABANDONED = "abandoned", "Returned or timed out"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="sessions")
    participant = models.OneToOneField(
        Participant, on_delete=models.CASCADE, related_name="session"
    )
    token = models.CharField(max_length=32, unique=True, default=new_token, editable=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CONSENT)
    # Fixed when the session starts: how many trials and at which indices the checks are.
    n_trials = models.PositiveIntegerField()
    check_indices = models.JSONField(default=list)
    completion_code = models.CharField(max_length=32, default=new_completion_code)
    excluded = models.BooleanField(
        default=False, help_text="Votes of excluded sessions are not valid (quality control)."
    )
    # Screening outcome: device report, scores, and why a participant was screened out.
    screening = models.JSONField(default=dict, blank=True)
    user_agent = models.CharField(max_length=400, blank=True)
    # A keyed hash of the client address (never the address): rate limits per address.
    client_hash = models.CharField(max_length=64, blank=True, db_index=True, editable=False)
    # The latency check's estimate of how late this rater hears sound against the picture.
    av_delay_ms = models.FloatField(null=True, blank=True, editable=False)
    simulated = models.BooleanField(
        default=False,
        editable=False,
        help_text="A dry run of simulate_raters: kept out of allocation targets, exports and "
        "analysis (unless asked for), and removed by delete_simulated.",
    )
    started_at = models.DateTimeField(auto_now_add=True)
    consented_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"session {self.pk} ({self.participant})"


class Trial(models.Model):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="trials")
    index = models.PositiveIntegerField()
    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="trials")
    check_kind = models.CharField(max_length=10, choices=CheckKind.choices, blank=True)
    check_criterion = models.ForeignKey(
        Criterion, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    expected_slot = models.PositiveSmallIntegerField(null=True, blank=True)
    allocated_at = models.DateTimeField(auto_now_add=True)
    # When the trial page was first served: no version can have started playing before it, so
    # the listening rules measure the server's clock from here (robust to a queued request).
    served_at = models.DateTimeField(null=True, blank=True)
    lease_expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    # A version would not load after retries: the rater skipped, the trial is unusable.
    skipped_at = models.DateTimeField(null=True, blank=True)
    # Playback telemetry, stored with the answer (studies.telemetry): what the page measured
    # (hidden time, sync offsets, ...) and what the server counted from the events.
    telemetry = models.JSONField(default=dict, blank=True, editable=False)

    class Meta:
        ordering = ["session_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["session", "index"], name="trial_index_unique"),
            models.CheckConstraint(
                condition=Q(check_kind="") | Q(expected_slot__isnull=False),
                name="check_trial_has_expected_slot",
            ),
        ]

    def __str__(self) -> str:
        return f"trial {self.index} of session {self.session_id}"

    @property
    def is_check(self) -> bool:
        return bool(self.check_kind)


class TrialSlot(models.Model):
    """What plays in one lettered slot; the token is the only thing the browser sees."""

    trial = models.ForeignKey(Trial, on_delete=models.CASCADE, related_name="slots")
    position = models.PositiveSmallIntegerField()
    system = models.ForeignKey(
        System, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    clip = models.ForeignKey(
        Clip, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    check_clip = models.ForeignKey(
        CheckClip, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    token = models.CharField(max_length=32, unique=True, default=new_token, editable=False)
    # Heard: the server accepted a play-through (see studies.listening); the interval is on the
    # participant's clock (ms), used to check that no two versions played at once.
    played_to_end_at = models.DateTimeField(null=True, blank=True)
    heard_from_ms = models.BigIntegerField(null=True, blank=True)
    heard_to_ms = models.BigIntegerField(null=True, blank=True)
    # Telemetry: how long the version was audible (playing, unmuted), from the page's events.
    heard_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["trial_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["trial", "position"], name="slot_position_unique"),
            models.CheckConstraint(
                condition=Q(clip__isnull=False) | Q(check_clip__isnull=False),
                name="slot_has_media",
            ),
        ]

    def __str__(self) -> str:
        return f"slot {self.label} of trial {self.trial_id}"

    @property
    def label(self) -> str:
        return SLOT_LABELS[self.position]

    @property
    def media_file(self):
        return self.clip.media if self.clip_id else self.check_clip.media

    @property
    def duration_s(self) -> float:
        return self.clip.duration_s if self.clip_id else self.check_clip.duration_s


class Vote(models.Model):
    trial = models.ForeignKey(Trial, on_delete=models.CASCADE, related_name="votes")
    criterion = models.ForeignKey(Criterion, on_delete=models.PROTECT, related_name="votes")
    # The chosen version (choice designs; empty for "no preference") or the rated one.
    slot = models.ForeignKey(
        TrialSlot, on_delete=models.PROTECT, null=True, blank=True, related_name="votes"
    )
    # Rating designs only: the version's score (1-5 ACR, 0-100 MUSHRA).
    score = models.FloatField(null=True, blank=True)
    rt_ms = models.PositiveIntegerField(
        help_text="Milliseconds from the last clip ending to the answer being submitted."
    )
    submitted_at = models.DateTimeField()

    class Meta:
        ordering = ["trial_id", "criterion_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["trial", "criterion"],
                condition=Q(score__isnull=True),
                name="one_vote_per_criterion",
            ),
            models.UniqueConstraint(
                fields=["trial", "criterion", "slot"],
                condition=Q(score__isnull=False),
                name="one_score_per_version",
            ),
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(slot__isnull=False),
                name="score_names_its_version",
            ),
        ]

    def __str__(self) -> str:
        return f"vote on trial {self.trial_id} criterion {self.criterion_id}"


class PlaybackEvent(models.Model):
    class Kind(models.TextChoices):
        PLAY = "play", "Started playing"
        ENDED = "ended", "Played to the end"
        PAUSE = "pause", "Paused"
        STALL = "stall", "Stalled (buffering)"
        ERROR = "error", "Failed to load"
        SWITCH = "switch", "Switched to this version (switching player)"
        SEEK = "seek", "Seeked (the event's media time is where from)"
        MUTE = "mute", "Muted"
        UNMUTE = "unmute", "Unmuted"
        TICK = "tick", "Still playing (a checkpoint of the switching player)"

    slot = models.ForeignKey(TrialSlot, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    at = models.DateTimeField(help_text="When the server handled the event.")
    # The participant's report: their clock (ms since the epoch) and the media time (s).
    client_ms = models.BigIntegerField(null=True, blank=True)
    media_time = models.FloatField(null=True, blank=True)
    # Whether the server accepted an `ended` as a real play-through, and if not, why.
    accepted = models.BooleanField(default=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} on slot {self.slot_id}"


class Recruitment(models.Model):
    """One posting of a study on a crowd platform (a Prolific study, an MTurk HIT)."""

    class Recruiter(models.TextChoices):
        LOCAL = "local", "Local links and codes"
        PROLIFIC = "prolific", "Prolific"
        MTURK = "mturk", "MTurk (closed 2026-09-30)"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="recruitments")
    recruiter = models.CharField(max_length=10, choices=Recruiter.choices)
    sandbox = models.BooleanField(default=False)
    remote_id = models.CharField(max_length=128, blank=True, help_text="Prolific study / HIT id")
    places = models.PositiveIntegerField()
    reward_cents = models.PositiveIntegerField(help_text="Per participant, in cents.")
    minutes = models.PositiveIntegerField(default=15, help_text="Estimated completion time.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.get_recruiter_display()} {self.remote_id or '(not created)'}"


class RemoteAction(models.Model):
    """The ledger: every call that changes something at a recruiter is recorded here before it is
    made, under a key that names the one thing it does (e.g. "bonus:<submission>"). A DONE action
    is never sent again; a SENT action whose outcome is unknown is only re-sent when the call is
    idempotent at the platform (approve, reject, MTurk calls with a UniqueRequestToken)."""

    class Kind(models.TextChoices):
        CREATE = "create", "Create"
        PUBLISH = "publish", "Publish"
        ADD_PLACES = "add_places", "Add places"
        APPROVE = "approve", "Approve"
        REJECT = "reject", "Reject"
        BONUS = "bonus", "Bonus"

    class State(models.TextChoices):
        PENDING = "pending", "Recorded, not sent"
        SENT = "sent", "Sent, outcome unknown"
        DONE = "done", "Done"
        FAILED = "failed", "Refused by the platform"

    recruitment = models.ForeignKey(Recruitment, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    key = models.CharField(max_length=200, unique=True)
    target = models.CharField(max_length=128, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    response = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.target} ({self.state})"


class ScreeningKind(models.TextChoices):
    AUDIO = "audio", "Audio check (count the beeps)"
    HEADPHONE = "headphone", "Headphone check (Huggins pitch)"


def screening_upload_to(instance: "ScreeningSound", filename: str) -> str:
    return _random_name("screening", filename)


class ScreeningSound(models.Model):
    """One sound of a study's screening pool, made once (at launch); sessions draw from it."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="screening_sounds")
    kind = models.CharField(max_length=10, choices=ScreeningKind.choices)
    media = models.FileField(upload_to=screening_upload_to, max_length=300)
    answer = models.PositiveSmallIntegerField()
    duration_s = models.FloatField()

    class Meta:
        ordering = ["study", "kind", "id"]

    def __str__(self) -> str:
        return f"{self.kind} sound {self.pk} of {self.study.slug}"


class ScreeningItem(models.Model):
    """One screening sound of a session. The answer stays here; the browser gets a token."""

    Kind = ScreeningKind

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="screening_items")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    index = models.PositiveIntegerField()
    token = models.CharField(max_length=32, unique=True, default=new_token, editable=False)
    sound = models.ForeignKey(
        ScreeningSound, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    # Sessions from before the pool have their own file; new ones point to a pool sound.
    media = models.FileField(upload_to="screening/", max_length=300, blank=True)
    answer = models.PositiveSmallIntegerField()
    response = models.PositiveSmallIntegerField(null=True, blank=True)
    # Heard: played through once by the server's listening rules (studies.listening).
    played_to_end_at = models.DateTimeField(null=True, blank=True)
    heard_from_ms = models.BigIntegerField(null=True, blank=True)
    heard_to_ms = models.BigIntegerField(null=True, blank=True)
    last_play_ms = models.BigIntegerField(null=True, blank=True)
    last_play_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["session", "index"]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "index"], name="one_screening_item_per_index"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.index} of session {self.session_id}"

    @property
    def media_file(self):
        return self.sound.media if self.sound_id else self.media

    @property
    def duration_s(self) -> float:
        return self.sound.duration_s if self.sound_id else 4.0


class BackgroundJob(models.Model):
    """What every background job (clip generation, item import, training) shares: a status,
    progress as done / failed of total, the failures, and a cancel the worker obeys between
    units of work (a clip, an item, a logging interval of training)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        DONE_WITH_ERRORS = "errors", "Done, with failures"
        FAILED = "failed", "Failed"
        INTERRUPTED = "interrupted", "Interrupted (run it again to finish)"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    @property
    def active(self) -> bool:
        return self.status in self.ACTIVE


class GenerationJob(BackgroundJob):
    """One run of clip generation for a study (from generate_clips or the admin's background
    job). Progress and every failure are recorded here as the job goes."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="generation_jobs")
    systems = models.JSONField(
        default=list, blank=True, help_text="System keys; empty: all of the study's."
    )
    device = models.CharField(
        max_length=32, default="auto", help_text="auto (CUDA if the worker has it), cpu or cuda."
    )
    batch_size = models.PositiveIntegerField(
        default=8,
        validators=[MinValueValidator(1)],
        help_text="Items generated together (lower it if a worker runs out of memory).",
    )
    force = models.BooleanField(
        default=False, help_text="Remake clips that exist (only before any rater has seen them)."
    )
    checks = models.BooleanField(
        default=True, help_text="Also make each item's check-trial material where missing."
    )

    class Meta(BackgroundJob.Meta):
        pass

    def __str__(self) -> str:
        return f"generation job {self.pk} for {self.study.slug} ({self.status})"


class ItemImport(BackgroundJob):
    """Items added to a study from a dataset folder (import_items, as a background job)."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="item_imports")
    data_dir = models.CharField(
        max_length=500,
        help_text="A dataset folder with index.csv (docs/reference/dataset-folder.md), on the "
        "worker.",
    )
    split = models.CharField(max_length=10, default="test")
    per_category = models.PositiveIntegerField(
        default=4,
        validators=[MinValueValidator(1)],
        help_text="Items per instrument. Per-instrument results need at least 4 (fewer get no "
        "interval or test in the reports).",
    )
    duration_s = models.FloatField(
        default=6.0,
        validators=[MinValueValidator(1.0), MaxValueValidator(60.0)],
        help_text="Seconds per item.",
    )
    categories = models.JSONField(
        default=list, blank=True, help_text="Instruments to import; empty: all the split has."
    )
    notes = models.JSONField(default=list, blank=True)

    class Meta(BackgroundJob.Meta):
        pass

    def __str__(self) -> str:
        return f"item import {self.pk} into {self.study.slug} ({self.status})"


def clip_import_upload_to(instance: "ClipImport", filename: str) -> str:
    return _random_name("imports", filename)


class ClipImport(BackgroundJob):
    """A researcher's own clips imported into a study (import_clips, as a background job):
    from a folder or manifest on the server, or an uploaded zip of such a folder."""

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="clip_imports")
    source = models.CharField(
        max_length=500,
        blank=True,
        help_text="A folder (videos/, one folder per system, reference/) or a manifest .csv "
        "on the server; or upload a zip below.",
    )
    upload = models.FileField(upload_to=clip_import_upload_to, blank=True)
    category = models.CharField(
        max_length=64, blank=True, help_text="Instrument of new items (else the manifest's)."
    )
    tolerance_s = models.FloatField(
        default=0.1,
        validators=[MinValueValidator(0.0), MaxValueValidator(5.0)],
        help_text="Seconds a soundtrack may differ from its video (it is fitted with fades).",
    )
    keep_system_video = models.BooleanField(
        default=False, help_text="Keep the picture of systems that give videos."
    )
    notes = models.JSONField(default=list, blank=True)  # the plan's problems

    class Meta(BackgroundJob.Meta):
        pass

    def __str__(self) -> str:
        return f"clip import {self.pk} into {self.study.slug} ({self.status})"


class TrainingRun(BackgroundJob):
    """One system trained by the project's training loop on a worker (as a background job);
    its best checkpoint is registered when it ends and, if asked, given to a study's system.
    Progress counts training steps."""

    system_key = models.CharField(max_length=64, help_text="Which system to train.")
    preset = models.CharField(
        max_length=16, default="small", help_text="debug (seconds, for trying), small or paper."
    )
    data_dir = models.CharField(
        max_length=500,
        help_text="A dataset folder with index.csv (docs/reference/dataset-folder.md), on the "
        "worker.",
    )
    device = models.CharField(max_length=32, default="auto")
    max_minutes = models.FloatField(
        default=30.0, validators=[MinValueValidator(0.05)], help_text="Stop after this long."
    )
    max_steps = models.PositiveIntegerField(default=20000, validators=[MinValueValidator(1)])
    val_every = models.PositiveIntegerField(default=200, validators=[MinValueValidator(1)])
    seed = models.PositiveIntegerField(default=0)
    out_dir = models.CharField(max_length=500, blank=True, help_text="Where the run writes.")
    assign_to = models.ForeignKey(
        "System",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Give the trained checkpoint to this study system (only while it has no clips).",
    )
    checkpoint = models.ForeignKey(
        Checkpoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta(BackgroundJob.Meta):
        pass

    def __str__(self) -> str:
        return f"training run {self.pk}: {self.system_key} {self.preset} ({self.status})"


class GenerationTask(models.Model):
    """One share of a generation job that any worker can take from the queue: one system's
    clips for a batch of items (phase 1), or check material for a batch of items (phase 2, once
    every clip exists). Idempotent: what exists is skipped, so a retried task makes nothing
    twice."""

    class Status(models.TextChoices):
        WAITING = "waiting", "Waiting for the clips"  # a check task, until phase 1 is over
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    CLIPS, CHECKS = 1, 2

    job = models.ForeignKey(GenerationJob, on_delete=models.CASCADE, related_name="tasks")
    phase = models.PositiveSmallIntegerField(default=CLIPS)
    system = models.ForeignKey(
        "System", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    item_ids = models.JSONField(default=list)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True, help_text="host:pid of the last run.")
    done = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    message = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "phase", "id"]

    def __str__(self) -> str:
        what = f"system {self.system.key}" if self.system_id else "checks"
        return f"task {self.pk} of job {self.job_id} ({what}, {len(self.item_ids)} items)"


class LoginFailure(models.Model):
    """A failed staff login, kept to rate-limit password guessing (studies.login_limits)."""

    client_hash = models.CharField(max_length=64, db_index=True)
    username = models.CharField(max_length=150, db_index=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"failed login for {self.username!r} at {self.at:%Y-%m-%d %H:%M}"
