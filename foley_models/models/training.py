"""The one training loop every system uses: seeded, resumable, validated, logged.

A system supplies a task (interface.TrainingTask): `model` (built from its config),
`train_batch(rng)`, `loss(batch) -> (loss, metrics)`, `validate() -> metrics` (with
"val_loss"), `lr(step)`, and `config`. Optionally (interface.PartialOptimization)
`optimized_parameters()`, what the loop's Adam updates (default all), and
(interface.AuxiliaryOptimization) a second optimiser (the GAN's discriminator):
`auxiliary_step(batch, step) -> metrics`, run before each main step, with `auxiliary_state()`
/ `load_auxiliary_state(state)` for --resume. Adam's betas come from `config.adam_betas` when
it has them.

The loop writes RUN_DIR/last.pt (with optimizer and RNG state, for --resume),
RUN_DIR/best.pt (lowest validation loss) and RUN_DIR/log.csv.
"""

import csv
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from foley_models.models import checkpoint
from foley_models.models.interface import (
    AuxiliaryOptimization,
    PartialOptimization,
    TrainingTask,
)


@dataclass
class TrainOptions:
    system: str
    preset: str
    out: Path
    max_steps: int
    seed: int = 0
    resume: bool = False
    val_every: int = 200
    log_every: int = 25
    max_minutes: float | None = None
    # A budget in CPU time (this process's, all threads): the same work on a busy shared
    # machine as on an idle one, where a wall-clock budget buys fewer steps.
    max_cpu_minutes: float | None = None
    progress: bool = True
    # Called at every logging interval with (step, elapsed_s, train loss, last validation
    # metrics); returning True stops the run cleanly (validated and saved, like running out of
    # time). A background job reports progress and obeys a cancel through it.
    on_log: Callable[[int, float, float, dict], bool] | None = None


def _rng_state(rng: np.random.Generator) -> dict:
    return {
        "torch": torch.get_rng_state(),
        "numpy": rng.bit_generator.state,
        "python": list(random.getstate()[1]),
        "python_version": random.getstate()[0],
    }


def _set_rng_state(rng: np.random.Generator, state: dict) -> None:
    torch.set_rng_state(state["torch"])
    rng.bit_generator.state = state["numpy"]
    random.setstate((state["python_version"], tuple(state["python"]), None))


def train(task: TrainingTask, options: TrainOptions) -> dict:
    out = Path(options.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(options.seed)
    random.seed(options.seed)
    rng = np.random.default_rng(options.seed)
    model = task.model
    parameters = (
        task.optimized_parameters() if isinstance(task, PartialOptimization) else model.parameters()
    )
    auxiliary = isinstance(task, AuxiliaryOptimization)
    optimizer = torch.optim.Adam(
        parameters,
        lr=1.0,
        betas=tuple(getattr(task.config, "adam_betas", (0.9, 0.98))),
        eps=1e-9,
        weight_decay=task.config.weight_decay,
    )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: task.lr(s + 1))
    step, best = 0, float("inf")
    last_path, best_path, log_path = out / "last.pt", out / "best.pt", out / "log.csv"
    if options.resume and last_path.is_file():
        payload = checkpoint.load(last_path)
        if payload["system"] != options.system:
            raise checkpoint.CheckpointError(
                f"{last_path}: holds a {payload['system']} run, not {options.system}"
            )
        model.load_state_dict(payload["model"])
        state = payload["train_state"]
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        _set_rng_state(rng, state["rng"])
        if auxiliary:
            task.load_auxiliary_state(state["auxiliary"])
        step, best = payload["step"], state["best"]
    elif not options.resume and log_path.exists():
        log_path.unlink()
    new_log = not log_path.exists()
    log = log_path.open("a", newline="")
    writer = csv.writer(log)
    if new_log:
        writer.writerow(["step", "split", "loss", "metric", "value", "lr", "elapsed_s"])
    started = time.perf_counter()
    cpu_started = time.process_time()
    metrics: dict = {}

    def save(path: Path, resumable: bool) -> None:
        state = None
        if resumable:
            state = {
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "rng": _rng_state(rng),
                "best": best,
            }
            if auxiliary:
                state["auxiliary"] = task.auxiliary_state()
        checkpoint.save(
            path,
            system=options.system,
            preset=options.preset,
            config=task.config,
            model=model,
            step=step,
            metrics=metrics,
            train_state=state,
        )

    bar = tqdm(
        total=options.max_steps,
        initial=step,
        disable=not options.progress,
        desc=f"train {options.system}",
    )
    try:
        while step < options.max_steps:
            model.train()
            batch = task.train_batch(rng)
            aux_metrics = task.auxiliary_step(batch, step + 1) if auxiliary else {}
            loss, batch_metrics = task.loss(batch)
            batch_metrics = {**aux_metrics, **batch_metrics}
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if task.config.grad_clip:
                torch.nn.utils.clip_grad_norm_(
                    [p for group in optimizer.param_groups for p in group["params"]],
                    task.config.grad_clip,
                )
            optimizer.step()
            scheduler.step()
            step += 1
            bar.update(1)
            elapsed = time.perf_counter() - started
            if step % options.log_every == 0 or step == 1:
                bar.set_postfix(loss=f"{loss.item():.3f}")
                writer.writerow(
                    [
                        step,
                        "train",
                        f"{loss.item():.5f}",
                        "",
                        "",
                        f"{scheduler.get_last_lr()[0]:.3g}",
                        f"{elapsed:.1f}",
                    ]
                )
                for name, value in batch_metrics.items():
                    writer.writerow([step, "train", "", name, f"{value:.5f}", "", f"{elapsed:.1f}"])
                log.flush()
            out_of_time = options.max_minutes is not None and elapsed > options.max_minutes * 60
            if options.max_cpu_minutes is not None:
                cpu = time.process_time() - cpu_started
                out_of_time = out_of_time or cpu > options.max_cpu_minutes * 60
            if options.on_log and (step % options.log_every == 0 or step == 1):
                stop = options.on_log(step, elapsed, loss.item(), metrics)
                out_of_time = out_of_time or bool(stop)
            if step % options.val_every == 0 or step == options.max_steps or out_of_time:
                model.eval()
                with torch.no_grad():
                    metrics = task.validate()
                metrics["step"] = step
                for name, value in metrics.items():
                    writer.writerow([step, "val", "", name, f"{value:.5f}", "", f"{elapsed:.1f}"])
                log.flush()
                if metrics["val_loss"] < best:
                    best = metrics["val_loss"]
                    save(best_path, resumable=False)
                save(last_path, resumable=True)
            if out_of_time:
                break
    finally:
        bar.close()
        log.close()
    return {
        "step": step,
        "best_val_loss": best,
        "last": metrics,
        "minutes": (time.perf_counter() - started) / 60,
        "cpu_minutes": (time.process_time() - cpu_started) / 60,
    }


def train_system(
    system: str,
    data: Path,
    *,
    preset: str,
    out: Path,
    max_steps: int,
    device: str = "auto",
    seed: int = 0,
    resume: bool = False,
    val_every: int = 200,
    max_minutes: float | None = None,
    max_cpu_minutes: float | None = None,
    progress: bool = True,
    on_log: Callable[[int, float, float, dict], bool] | None = None,
) -> dict:
    """`python -m foley_models train`: the system's preset, its Task on the dataset, the loop."""
    from foley_models.models.registry import resolve_device, system_module

    config = system_module(system, "config").preset(preset)
    torch.manual_seed(seed)  # the initial weights depend on the seed alone
    task = system_module(system, "train").Task(config, data, resolve_device(device))
    options = TrainOptions(
        system=system,
        preset=preset,
        out=out,
        max_steps=max_steps,
        seed=seed,
        resume=resume,
        val_every=val_every,
        max_minutes=max_minutes,
        max_cpu_minutes=max_cpu_minutes,
        progress=progress,
        on_log=on_log,
    )
    return train(task, options)
