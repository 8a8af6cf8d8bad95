"""Training a system from the admin: a TrainingRun is one `python -m foley_models train` run on a
worker, writing under MODELS_DIR, whose best checkpoint is registered when it ends (and given to
a study's system if asked). Progress is the step count; a cancel stops it at the next logging
interval, validated and saved like a run that ran out of time."""

import time
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from foley_models.data import dataset
from foley_models.models.registry import SYSTEMS
from studies.errors import StudyError
from studies.models import Clip, System, TrainingRun
from studies.stimuli.background import job_refuse_if_active
from studies.stimuli.datasets import dataset_check

PRESETS = ("debug", "small", "paper")
Status = TrainingRun.Status
# The worker writes progress to the database at most this often.
PROGRESS_EVERY_S = 2.0


def training_run_create(
    *,
    system_key: str,
    data_dir: str | Path,
    preset: str = "small",
    device: str = "auto",
    max_minutes: float = 30.0,
    max_steps: int = 20000,
    val_every: int = 200,
    seed: int = 0,
    assign_to: System | None = None,
) -> TrainingRun:
    """A queued run, after checking its options (so a bad dataset is a form error, not a failed
    job an hour later)."""
    if system_key not in SYSTEMS:
        raise StudyError(f"unknown system {system_key!r} (known: {', '.join(SYSTEMS)})")
    if preset not in PRESETS:
        raise StudyError(f"unknown preset {preset!r} (known: {', '.join(PRESETS)})")
    if max_minutes <= 0 or max_steps < 1 or val_every < 1:
        raise StudyError("max minutes must be positive, max steps and val every at least 1")
    dataset_check(data_dir, need_splits=("train", "val"))
    if assign_to is not None:
        if Clip.objects.filter(system=assign_to).exists():
            raise StudyError(
                f"{assign_to.study.slug}'s system {assign_to.key} already has clips: give the new "
                "checkpoint to it by hand, knowing its clips were made by the old one"
            )
        job_refuse_if_active(TrainingRun.objects.filter(assign_to=assign_to), what="training run")
    run = TrainingRun.objects.create(
        system_key=system_key,
        data_dir=str(Path(data_dir).resolve()),
        preset=preset,
        device=device,
        max_minutes=max_minutes,
        max_steps=max_steps,
        val_every=val_every,
        seed=seed,
        assign_to=assign_to,
        total=max_steps,
    )
    run.out_dir = str(Path(settings.MODELS_DIR) / f"{system_key}-{preset}-run{run.pk}")
    run.save(update_fields=["out_dir"])
    return run


def training_run_run(*, run: TrainingRun) -> TrainingRun:
    """Run a queued run in this process (the worker's task); anything else is left alone."""
    claimed = TrainingRun.objects.filter(pk=run.pk, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=timezone.now(), message="starting"
    )
    run.refresh_from_db()
    if not claimed:
        return run
    from foley_models.models.checkpoint import CheckpointError
    from foley_models.models.training import train_system  # torch: only in the worker
    from studies.stimuli.checkpoints import checkpoint_register

    last_write = [0.0]

    def on_log(step: int, elapsed: float, loss: float, metrics: dict) -> bool:
        now = time.monotonic()
        if now - last_write[0] >= PROGRESS_EVERY_S or step == 1:
            last_write[0] = now
            text = f"step {step}: train loss {loss:.4f}"
            if "val_loss" in metrics:
                text += f", last val loss {metrics['val_loss']:.4f} (step {metrics['step']})"
            TrainingRun.objects.filter(pk=run.pk).update(
                done=step, message=text, updated_at=timezone.now()
            )
        return TrainingRun.objects.filter(pk=run.pk, status=Status.CANCELLED).exists()

    try:
        summary = train_system(
            run.system_key,
            Path(run.data_dir),
            preset=run.preset,
            out=Path(run.out_dir),
            max_steps=run.max_steps,
            device=run.device,
            seed=run.seed,
            val_every=run.val_every,
            max_minutes=run.max_minutes,
            progress=False,
            on_log=on_log,
        )
        best = Path(run.out_dir) / "best.pt"
        checkpoint = checkpoint_register(path=best)
    except (dataset.DatasetError, CheckpointError, StudyError, ValueError, OSError) as exc:
        TrainingRun.objects.filter(pk=run.pk).exclude(status=Status.CANCELLED).update(
            status=Status.FAILED, finished_at=timezone.now(), message=f"{type(exc).__name__}: {exc}"
        )
        run.refresh_from_db()
        return run
    except BaseException:  # killed: a later run can start afresh (last.pt is resumable by hand)
        TrainingRun.objects.filter(pk=run.pk, status=Status.RUNNING).update(
            status=Status.INTERRUPTED, finished_at=timezone.now()
        )
        raise
    text = (
        f"{summary['step']} steps in {summary['minutes']:.1f} min, best val loss "
        f"{summary['best_val_loss']:.4f}; registered {best}"
    )
    run.refresh_from_db()
    assigned = ""
    if run.status != Status.CANCELLED and run.assign_to_id is not None:
        system = run.assign_to
        if Clip.objects.filter(system=system).exists():
            assigned = f"; not given to {system.key}: it has clips by now"
        else:
            system.checkpoint = checkpoint
            system.save(update_fields=["checkpoint"])
            assigned = f"; given to {system.study.slug}'s system {system.key}"
    fields = {"done": summary["step"], "checkpoint": checkpoint, "finished_at": timezone.now()}
    if run.status == Status.CANCELLED:
        fields["message"] = f"cancelled at step {summary['step']}: {text}"
    else:
        fields.update(status=Status.DONE, message=text + assigned)
    TrainingRun.objects.filter(pk=run.pk).update(**fields)
    run.refresh_from_db()
    return run
