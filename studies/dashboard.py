"""A study's dashboard on its admin page: sessions and valid votes over time, valid votes per
item and criterion against the target, quality-control exclusions by rule, screening pass rates,
time per trial, generation status, and (only when asked for) interim preference shares.

Charts are drawn on matplotlib's Agg canvas as inline SVG (no pyplot, no files)."""

import io
import statistics

from django.urls import reverse
from django.utils.safestring import mark_safe

from studies import selectors
from studies.analysis.qc import MIN_ANSWERS_FOR_SAME_SLOT
from studies.models import Study

RULE_NAMES = {
    "failed_checks": "failed check trials",
    "not_played": "not every clip played to the end",
    "same_slot": f"one slot for most answers (sessions of {MIN_ANSWERS_FOR_SAME_SLOT}+ answers)",
    "too_fast": "answered too fast",
}
# Above this many items the heatmap drops its per-cell numbers (they would not be legible).
MAX_ANNOTATED_ITEMS = 40

STOPPING_NOTE = (
    "Interim shares are for spotting a broken stimulus or system, not for deciding when to stop. "
    "Stopping the study when the results look good (optional stopping) inflates the false "
    "positive rate well above the nominal 5%: fix the number of votes in advance (plan_study) "
    "and analyse once, when the target is reached."
)


def _svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight")
    text = buffer.getvalue()
    return mark_safe(text[text.index("<svg") :])  # noqa: S308 (our own matplotlib output)


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _cumulative(points: list) -> tuple[list, list]:
    """Step-curve coordinates of running totals, starting from zero at the first time."""
    times, totals, running = [points[0][0]], [0], 0
    for when, n in points:
        running += n
        times.append(when)
        totals.append(running)
    return times, totals


def _over_time(data) -> str | None:
    if not data.sessions_started:
        return None
    from datetime import timedelta

    import matplotlib.dates as mdates

    fig = _figure(7.5, 2.4)
    left, right = fig.subplots(1, 2)
    everything = data.sessions_started + data.sessions_completed + data.votes
    first = min(t for t, _ in everything)
    last = max(max(t for t, _ in everything), first + timedelta(minutes=2))
    for ax, series, title in (
        (left, [("started", data.sessions_started), ("completed", data.sessions_completed)],
         "Sessions"),
        (right, [("valid votes", data.votes)], "Valid votes"),
    ):  # fmt: skip
        for label, points in series:
            if points:
                times, totals = _cumulative(points)
                ax.step(times + [last], totals + [totals[-1]], where="post", label=label)
        ax.set_title(f"{title} (cumulative)", fontsize=10)
        ax.set_xlim(first, last)
        ax.set_ylim(bottom=0)
        locator = mdates.AutoDateLocator(maxticks=5)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return _svg(fig)


def _heatmap(data) -> str | None:
    if not data.items or not data.criteria:
        return None
    import numpy as np

    counts = np.array(
        [[data.votes_per_item_criterion.get((i, c), 0) for c in data.criteria] for i in data.items]
    )
    height = min(1.0 + 0.22 * len(data.items), 14.0)
    fig = _figure(1.6 + 1.1 * len(data.criteria), height)
    ax = fig.subplots()
    image = ax.imshow(
        counts / data.target, vmin=0, vmax=1, cmap="viridis", aspect="auto", interpolation="none"
    )
    ax.set_xticks(range(len(data.criteria)), data.criteria, fontsize=8)
    if len(data.items) <= MAX_ANNOTATED_ITEMS:
        ax.set_yticks(range(len(data.items)), data.items, fontsize=8)
        for (row, col), n in np.ndenumerate(counts):
            colour = "white" if n < 0.6 * data.target else "black"
            ax.text(col, row, str(n), ha="center", va="center", fontsize=8, color=colour)
    else:
        ax.set_yticks([])
        ax.set_ylabel(f"{len(data.items)} items", fontsize=8)
    bar = fig.colorbar(image, ax=ax, fraction=0.08)
    bar.set_label(f"share of the target ({data.target})", fontsize=7)
    bar.ax.tick_params(labelsize=7)
    return _svg(fig)


def _quartiles(values: list[float]) -> dict | None:
    if not values:
        return None
    if len(values) == 1:
        return {"n": 1, "median": values[0], "q1": values[0], "q3": values[0]}
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return {"n": len(values), "median": median, "q1": q1, "q3": q3}


def study_dashboard(*, study: Study, interim: bool = False) -> dict:
    """The dashboard's template context."""
    data = selectors.study_dashboard_data(study=study, interim=interim)
    screening = data.screening
    screened = screening["passed"] + screening["failed"]
    qc_rows = []
    if data.qc:
        qc_rows = [
            (
                RULE_NAMES.get(name, name),
                r["votes"],
                r["sessions"],
                100 * r["votes"] / data.qc["votes_in"] if data.qc["votes_in"] else 0.0,
            )
            for name, r in data.qc["rules"].items()
        ]
    cells = [
        data.votes_per_item_criterion.get((i, c), 0) for i in data.items for c in data.criteria
    ]
    share_rows = None
    if data.shares is not None:
        share_rows = []
        for criterion, by_system in data.shares.items():
            total = sum(by_system.values())
            share_rows.append(
                (
                    criterion,
                    total,
                    [
                        (name, n, f"{100 * n / total if total else 0.0:.1f}%")
                        for name, n in by_system.items()
                    ],
                )
            )
    if data.means is not None:
        share_rows = [
            (
                criterion,
                sum(n for n, _ in by_system.values()),
                [
                    (name, n, "-" if mean is None else f"mean {mean:.2f}")
                    for name, (n, mean) in by_system.items()
                ],
            )
            for criterion, by_system in data.means.items()
        ]
    jobs = []
    for job, url_name in (
        (data.generation, "admin:studies_generationjob_change"),
        (data.imports, "admin:studies_itemimport_change"),
    ):
        if job is not None:
            jobs.append(
                (str(job), reverse(url_name, args=[job.pk]), job.done + job.failed, job.total)
            )
    return {
        "over_time": _over_time(data),
        "heatmap": _heatmap(data),
        "qc": data.qc,
        "qc_rows": qc_rows,
        "cells_below_target": sum(1 for n in cells if n < data.target),
        "cells": len(cells),
        "target": data.target,
        "screening": screening,
        "screened": screened,
        "pass_rate": 100 * screening["passed"] / screened if screened else None,
        "reasons": sorted(screening["reasons"].items(), key=lambda kv: -kv[1]),
        "trial_seconds": _quartiles(data.trial_seconds),
        "answer_seconds": _quartiles([ms / 1000 for ms in data.answer_ms]),
        "jobs": jobs,
        "interim": interim,
        "share_rows": share_rows,
        "stopping_note": STOPPING_NOTE,
    }
