"""Reads about a study's stimuli: what stops it from launching, what to confirm first, and
the parts of a generation job."""

from pathlib import Path

from django.db.models import Count

from studies.allocation import available_check_kinds
from studies.models import (
    CheckClip,
    Clip,
    GenerationJob,
    Item,
    Study,
)
from studies.stimuli.audit import audit_problems

# Clips of an item may differ from the item's duration by at most this much.
DURATION_TOLERANCE_S = 0.050


# The versions of one item must agree in duration more closely than that (the browser shows it).
VERSION_DURATION_TOLERANCE_S = 0.002


def study_problems(*, study: Study) -> list[str]:
    """Every reason the study cannot be launched, as sentences a researcher can act on."""
    from studies.designs import design_of

    systems = list(study.systems.all())
    items = list(study.items.all())
    problems: list[str] = design_of(study).problems(study)
    if not study.criteria.exists():
        problems.append("The study has no criteria (questions).")
    if not items:
        problems.append("The study has no items (videos).")
    if study.latency_check and not study.screening:
        problems.append(
            "The latency check runs in screening: turn screening on too, or the check off."
        )
    if study.latency_screen_out and not study.max_av_delay_ms:
        problems.append("Screening out by audio delay needs a delay threshold (max_av_delay_ms).")
    clips = Clip.objects.filter(item__study=study).select_related("item", "system")
    by_cell: dict[tuple[int, int], list[Clip]] = {}
    for clip in clips:
        by_cell.setdefault((clip.item_id, clip.system_id), []).append(clip)
    for item in items:
        for system in systems:
            cell = by_cell.get((item.pk, system.pk), [])
            if not cell:
                problems.append(f"Item {item.key!r} has no clip for system {system.key!r}.")
                continue
            clip = cell[0]
            if abs(clip.duration_s - item.duration_s) > DURATION_TOLERANCE_S:
                problems.append(
                    f"Clip {item.key!r}/{system.key!r} lasts {clip.duration_s:.3f} s but the item "
                    f"lasts {item.duration_s:.3f} s (more than 50 ms apart)."
                )
            if not _file_exists(clip.media):
                problems.append(f"Clip {item.key!r}/{system.key!r}: its media file is missing.")
    problems += _version_problems(items)
    for c in clips:
        preflight = c.provenance.get("preflight", {})
        if preflight.get("media") == c.media.name:
            problems += [
                f"Clip {c.item.key!r}/{c.system.key!r} {problem}."
                for problem in preflight["problems"]
            ]
    problems += audit_problems(
        [
            (c.item.key, c.system.key, c.provenance["audio"])
            for c in clips
            if c.provenance.get("audio", {}).get("media") == c.media.name
        ]
    )
    for check in CheckClip.objects.filter(item__study=study).select_related("item"):
        if not _file_exists(check.media):
            problems.append(f"Check clip {check}: its media file is missing.")
        if abs(check.duration_s - check.item.duration_s) > DURATION_TOLERANCE_S:
            problems.append(
                f"Check clip {check} lasts {check.duration_s:.3f} s but the item lasts "
                f"{check.item.duration_s:.3f} s."
            )
    if study.check_trials_per_session:
        if not available_check_kinds(study):
            problems.append(
                f"The study asks for {study.check_trials_per_session} check trials per session "
                "but no item has check material (a target and a foil of kind noise with a "
                "'noise' criterion, or of kind sync with a 'synchronization' criterion). Add "
                "check clips or set check trials per session to 0."
            )
    return problems


def _version_problems(items: list[Item]) -> list[str]:
    """Every version of an item must have one byte length and one duration (blinding)."""
    from studies.stimuli.sizes import item_version_sizes

    problems = []
    for item in items:
        sizes = set(item_version_sizes(item).values())
        if len(sizes) > 1:
            problems.append(
                f"Item {item.key!r}: its versions (clips and check clips) differ in size "
                f"({min(sizes)} to {max(sizes)} bytes), which tells them apart. Run "
                "generate_clips (it pads them) or launch again before anyone has a trial."
            )
        durations = [c.duration_s for c in item.clips.all()]
        durations += [c.duration_s for c in item.check_clips.all()]
        if durations and max(durations) - min(durations) > VERSION_DURATION_TOLERANCE_S:
            problems.append(
                f"Item {item.key!r}: its versions differ in duration ({min(durations):.3f} to "
                f"{max(durations):.3f} s); every version must last the same."
            )
    return problems


def _file_exists(field_file) -> bool:
    if not field_file:
        return False
    try:
        return Path(field_file.path).is_file()
    except (ValueError, NotImplementedError):
        return field_file.storage.exists(field_file.name)


def generation_job_parts(*, job: GenerationJob) -> list[dict]:
    """A generation job's progress per system (and its check material), from its tasks."""
    rows: dict = {}
    for task in job.tasks.select_related("system").order_by("phase", "id"):
        what = task.system.name if task.system_id else "check material"
        row = rows.setdefault(
            what, {"what": what, "items": 0, "done": 0, "failed": 0, "statuses": {}}
        )
        row["items"] += len(task.item_ids)
        row["done"] += task.done
        row["failed"] += task.failed
        row["statuses"][task.status] = row["statuses"].get(task.status, 0) + 1
    for row in rows.values():
        row["tasks"] = ", ".join(f"{n} {status}" for status, n in row.pop("statuses").items())
    return list(rows.values())


def study_launch_warnings(*, study: Study) -> list[str]:
    """What a researcher should confirm before launch, though the study can run: categories
    with too few items for per-category claims (the reports give them no interval or test)."""
    from studies.analysis.estimates import MIN_ITEMS_FOR_INTERVAL

    counts = dict(study.items.values_list("category").annotate(n=Count("id")).order_by("category"))
    total = sum(counts.values())
    if 0 < total < MIN_ITEMS_FOR_INTERVAL:
        return [
            f"only {total} items: the reports will give no interval or test at all (they need "
            f"at least {MIN_ITEMS_FOR_INTERVAL} items per scope)"
        ]
    few = {c: n for c, n in counts.items() if n < MIN_ITEMS_FOR_INTERVAL}
    if len(counts) < 2 or not few:  # one category: its results are the study's
        return []
    listed = ", ".join(f"{c} {n}" for c, n in few.items())
    return [
        f"categories with fewer than {MIN_ITEMS_FOR_INTERVAL} items ({listed}): the reports will "
        "give them no per-category interval or test (plan_study; import more items per "
        "instrument for per-instrument claims)"
    ]
