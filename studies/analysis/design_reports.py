"""The files `analyze` writes for the designs other than best_of (best_of: analysis.report).

Every design writes summary.json (keyed summary[criterion]["all" | category], as
docs/reference/summary-json.md states), one tidy CSV of its estimates, exclusions.csv,
report.md, and its figure as PNG, SVG and PDF: judged-real shares for real_or_generated, a
win-rate heatmap and Bradley-Terry strengths for pairwise, mean scores with intervals for
rating, boxplots for MUSHRA.
"""

import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

SUMMARY_EXTRA = (
    "design", "systems", "names", "study", "categories", "exclusions", "settings", "checklist",
    "order", "reference", "generated", "mixed_model", "post_screening", "scale",
)  # fmt: skip


def summary_json(summary: dict) -> dict:
    out = {criterion: scopes for criterion, scopes in summary["criteria"].items()}
    for key in SUMMARY_EXTRA:
        if key in summary:
            out[key] = summary[key]
    return out


def _write(path: Path, data: bytes) -> Path:
    from foley_models.data.dataset import atomic_write_bytes

    return atomic_write_bytes(path, data)


def _common(summary: dict, out: Path, table: pd.DataFrame, report: str) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    exclusions = pd.DataFrame([{"rule": k, **v} for k, v in summary["exclusions"]["rules"].items()])
    return [
        _write(out / "summary.json", json.dumps(summary_json(summary), indent=2).encode()),
        _write(out / "estimates.csv", table.to_csv(index=False).encode()),
        _write(out / "exclusions.csv", exclusions.to_csv(index=False).encode()),
        _write(out / "report.md", report.encode()),
    ]


def _figure(out: Path, name: str, draw, size=(8, 4)) -> list[Path]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    FigureCanvasAgg(fig)
    draw(fig)
    fig.tight_layout()
    written = []
    for ext in ("png", "svg", "pdf"):
        image = io.BytesIO()
        fig.savefig(image, format=ext, dpi=150)
        written.append(_write(out / f"{name}.{ext}", image.getvalue()))
    return written


def _f(v, digits=3) -> str:
    return "-" if v is None or v != v else f"{v:.{digits}f}"


def _p(v) -> str:
    return "-" if v is None else ("< 0.001" if v < 0.001 else f"{v:.3f}")


def _header(summary: dict, title: str) -> list[str]:
    ex = summary["exclusions"]
    ck = summary["checklist"]
    screened = " and post-screening" if "post_screening" in summary else ""
    return [
        f"# {title}" + (f": {summary['study']}" if summary.get("study") else ""),
        "",
        f"Design `{summary['design']}`. {ck['participants']} participants "
        f"({ck['participants_before_qc']} before quality control{screened}), {ck['items']} "
        f"items; {ex['votes_kept']} of {ex['votes_in']} votes kept after quality control.",
        f"Intervals: {ck['interval_method']} (level {summary['settings']['level']:.0%}).",
        "",
    ]


# --- real_or_generated ------------------------------------------------------------------------


def write_real_or_generated(summary: dict, out) -> list[Path]:
    out = Path(out)
    names = summary["names"]
    rows = [
        {"criterion": c, "scope": scope, "system": s, **est}
        for c, scopes in summary["criteria"].items()
        for scope, systems in scopes.items()
        for s, est in systems.items()
    ]
    lines = _header(summary, "Real or generated")
    lines += [
        f"Reference (the original recording): {names[summary['reference']]}. A generated "
        "system at 50% is indistinguishable from the recording.",
        "",
        "| criterion | system | n | judged original | interval | p vs 50% | naive Wilson |",
        "|---|---|---|---|---|---|---|",
    ]
    for c, scopes in summary["criteria"].items():
        for s, e in scopes.get("all", {}).items():
            lines.append(
                f"| {c} | {names[s]} | {e['n']} | {e['judged_real']:.1%} | "
                f"{e['ci_low']:.1%} to {e['ci_high']:.1%} | {_p(e['p_vs_half'])} | "
                f"{e['wilson_low']:.1%} to {e['wilson_high']:.1%} |"
            )
    order = summary["order"]
    lines += [
        "",
        f"Order: the reference came first in {order['reference_first_share']:.1%} of trials; "
        f"the first version was chosen in {order['first_slot_chosen_share']:.1%}.",
    ]
    criterion = next(iter(summary["criteria"]))
    est = summary["criteria"][criterion]["all"]

    def draw(fig):
        ax = fig.add_subplot()
        keys = list(est)
        y = [est[k]["judged_real"] * 100 for k in keys]
        err = [
            [y[i] - est[k]["ci_low"] * 100 for i, k in enumerate(keys)],
            [est[k]["ci_high"] * 100 - y[i] for i, k in enumerate(keys)],
        ]
        ax.bar([names[k] for k in keys], y, yerr=err, capsize=4, color="#4c72b0")
        ax.axhline(50, color="#555", linestyle="--", linewidth=1)
        ax.set_ylim(0, 100)
        ax.set_ylabel("judged the original (%)")
        ax.set_title(f"Real or generated ({criterion}; dashed: indistinguishable)")

    return _common(summary, out, pd.DataFrame(rows), "\n".join(lines) + "\n") + _figure(
        out, "judged_real", draw
    )


# --- pairwise ------------------------------------------------------------------------------


def write_pairwise(summary: dict, out) -> list[Path]:
    out = Path(out)
    names = summary["names"]
    systems = summary["systems"]
    rows = []
    for c, scopes in summary["criteria"].items():
        for scope, est in scopes.items():
            for s, bt in est["bradley_terry"].items():
                rows.append({"criterion": c, "scope": scope, "system": s, **bt})
    lines = _header(summary, "Pairwise comparison")
    lines += [
        "Bradley-Terry strengths (log scale, mean 0 over systems; ties count half a win).",
        "",
    ]
    for c, scopes in summary["criteria"].items():
        est = scopes["all"]
        lines += [f"## {c}", "", "| system | strength | interval |", "|---|---|---|"]
        for s, bt in sorted(est["bradley_terry"].items(), key=lambda kv: -kv[1]["strength"]):
            lines.append(
                f"| {names[s]} | {bt['strength']:+.3f} | {bt['ci_low']:+.3f} to "
                f"{bt['ci_high']:+.3f} |"
            )
        lines += ["", "| pair | n | difference | p (Holm) |", "|---|---|---|---|"]
        for p in est["pairs"]:
            lines.append(
                f"| {names[p['a']]} vs {names[p['b']]} | {p['n']} | {p['difference']:+.3f} | "
                f"{_p(p['p_holm'])} |"
            )
        lines += ["", f"Ties (no preference): {est['ties']} of {est['n']} votes.", ""]
    criterion = "overall" if "overall" in summary["criteria"] else next(iter(summary["criteria"]))
    rates = summary["criteria"][criterion]["all"]["win_rate"]

    def draw(fig):
        ax = fig.add_subplot()
        matrix = np.array(
            [[np.nan if a == b else (rates[a][b] or np.nan) for b in systems] for a in systems]
        )
        image = ax.imshow(matrix * 100, vmin=0, vmax=100, cmap="RdBu")
        for i in range(len(systems)):
            for j in range(len(systems)):
                if i != j and matrix[i, j] == matrix[i, j]:
                    ax.text(j, i, f"{matrix[i, j]:.0%}", ha="center", va="center", fontsize=9)
        labels = [names[s] for s in systems]
        ax.set_xticks(range(len(systems)), labels, rotation=30, ha="right")
        ax.set_yticks(range(len(systems)), labels)
        ax.set_xlabel("against")
        ax.set_ylabel("system")
        ax.set_title(f"Win rate of row over column ({criterion})")
        fig.colorbar(image, ax=ax, label="wins (%)")

    return _common(summary, out, pd.DataFrame(rows), "\n".join(lines) + "\n") + _figure(
        out, "win_rate", draw, size=(7, 5.5)
    )


# --- rating and mushra ---------------------------------------------------------------------


def write_ratings(summary: dict, out, votes: pd.DataFrame | None = None) -> list[Path]:
    out = Path(out)
    names = summary["names"]
    systems = summary["systems"]
    low, high = summary["scale"]
    title = "Mean opinion scores (ACR)" if summary["design"] == "rating" else "MUSHRA"
    rows = [
        {"criterion": c, "scope": scope, "system": s, **est}
        for c, scopes in summary["criteria"].items()
        for scope, per in scopes.items()
        for s, est in per.items()
    ]
    lines = _header(summary, title)
    if "post_screening" in summary:
        ps = summary["post_screening"]
        lines += [
            f"Post-screening: {ps['rule']}: {ps['participants_excluded']} of "
            f"{ps['participants_screened']} participants excluded, before the means below.",
            "",
        ]
    for c, scopes in summary["criteria"].items():
        lines += [
            f"## {c}",
            "",
            "| system | n | mean | interval | mixed model mean | naive ± |",
            "|---|---|---|---|---|---|",
        ]
        mm = summary["mixed_model"].get(c, {})
        for s, e in scopes["all"].items():
            m = mm.get("means", {}).get(s, {})
            lines.append(
                f"| {names[s]} | {e['n']} | {e['mean']:.2f} | {e['ci_low']:.2f} to "
                f"{e['ci_high']:.2f} | {_f(m.get('mean'), 2)} | "
                f"{_f(e['naive_ci_half_width'], 2)} |"
            )
        if mm.get("pairs"):
            lines += ["", "| pair | difference (mixed model) | p (Holm) |", "|---|---|---|"]
            for p in mm["pairs"]:
                lines.append(
                    f"| {names[p['a']]} vs {names[p['b']]} | {p['difference']:+.2f} | "
                    f"{_p(p['p_holm'])} |"
                )
        elif mm.get("error"):
            lines += ["", f"Mixed model: {mm['error']}."]
        lines.append("")
    crits = list(summary["criteria"])

    def draw(fig):
        ax = fig.add_subplot()
        width = 0.8 / max(1, len(systems))
        for j, s in enumerate(systems):
            xs, ys, errs = [], [], [[], []]
            for i, c in enumerate(crits):
                e = summary["criteria"][c]["all"].get(s)
                if e is None:
                    continue
                xs.append(i + (j - (len(systems) - 1) / 2) * width)
                ys.append(e["mean"])
                errs[0].append(e["mean"] - e["ci_low"])
                errs[1].append(e["ci_high"] - e["mean"])
            ax.bar(xs, ys, width=width, yerr=errs, capsize=3, label=names[s])
        ax.set_xticks(range(len(crits)), crits)
        ax.set_ylim(low, high)
        ax.set_ylabel("mean score")
        ax.set_title(f"{title}: means with {summary['settings']['level']:.0%} intervals")
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)

    written = _common(summary, out, pd.DataFrame(rows), "\n".join(lines) + "\n")
    written += _figure(out, "scores", draw, size=(9, 4))
    if summary["design"] == "mushra" and summary.get("scores_by_system"):
        by = summary["scores_by_system"]

        def boxes(fig):
            ax = fig.add_subplot()
            keys = [s for s in systems if by.get(s)]
            ax.boxplot([by[s] for s in keys], tick_labels=[names[s] for s in keys])
            ax.set_ylim(0, 100)
            ax.set_ylabel("score")
            ax.set_title(f"MUSHRA scores ({crits[0]}), after post-screening")

        written += _figure(out, "mushra_boxplot", boxes)
    return written
