"""`analyze`: quality control, estimates per criterion and scope, and the files a paper needs.

Outputs in DIR: summary.json, shares.csv, pairwise.csv, exclusions.csv, table1.tex, report.md
(Table 1: overall preference, instrument x system; Figure 3: correctness, noise,
synchronization), figure3.png/.svg, table1.png/.svg, position.png/.svg.
"""

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from studies.analysis.bootstrap import codes, draw_replicates, shares_of, weighted_counts
from studies.analysis.estimates import criterion_estimates, position_bias, system_codes
from studies.analysis.qc import QCSettings, apply_qc

CRITERIA_ORDER = ("correctness", "noise", "synchronization", "overall")
ESTIMATE_COLUMNS = (
    "participant", "item", "category", "criterion", "chosen_system", "slot_systems",
    "chosen_slot", "n_slots",
)  # fmt: skip
CODED_COLUMNS = ("participant", "item", "category", "criterion", "chosen_system")


def systems_of(votes: pd.DataFrame) -> list[str]:
    """The systems every regular trial shows (in order of first appearance); a row showing
    another set is an error naming its line."""
    regular = ~votes["is_check"].to_numpy()
    # Each distinct slot_systems value once (a study has a handful), in order of appearance.
    codes, values = pd.factorize(votes["slot_systems"][regular])
    sets = [frozenset(str(v).split("|")) for v in values]
    per_value = np.bincount(codes, minlength=len(values))
    totals: dict[frozenset, int] = {}
    for system_set, count in zip(sets, per_value, strict=True):
        totals[system_set] = totals.get(system_set, 0) + int(count)
    common = max(totals, key=totals.get)
    odd = [j for j, system_set in enumerate(sets) if system_set != common]
    if odd:
        row = votes[regular].iloc[int(np.flatnonzero(np.isin(codes, odd))[0])]
        raise ValueError(
            f"line {row['line']}: trial shows {row['slot_systems']!r}, but the "
            f"other trials show {'|'.join(sorted(common))}; every regular trial "
            "must show every system once"
        )
    seen: list[str] = []
    for value in values:
        seen += [s for s in str(value).split("|") if s not in seen]
        if len(seen) == len(common):
            break
    return seen


def analyze(
    votes: pd.DataFrame, *, qc: QCSettings, b: int = 2000, seed: int = 0, level: float = 0.95
) -> dict:
    """The whole analysis as one JSON-ready dict (see module docstring for the files)."""
    regular = votes.loc[~votes["is_check"], ["participant", "n_slots"]]
    if regular.empty:
        raise ValueError("there are no votes to analyse (no regular trials answered yet)")
    systems = systems_of(votes)
    if regular["n_slots"].nunique() != 1 or regular["n_slots"].iloc[0] != len(systems):
        raise ValueError(
            "every regular trial must show every system once; this file mixes "
            "trials with different systems"
        )
    kept, exclusions = apply_qc(votes, qc)
    if kept.empty:
        raise ValueError("quality control excluded every vote; see the exclusion counts")
    # The columns the estimates read, as categories (codes, not strings, from here on).
    kept = kept[[*ESTIMATE_COLUMNS]].astype({c: "category" for c in CODED_COLUMNS})
    present = set(kept["criterion"].cat.categories)
    criteria = [c for c in CRITERIA_ORDER if c in present] + sorted(present - set(CRITERIA_ORDER))
    categories = sorted(kept["category"].cat.categories)
    summary: dict = {"criteria": {}, "systems": systems, "categories": categories}
    # One two-way resample of the whole study serves every criterion, scope and outcome.
    k, n_cat = len(systems), len(categories)
    part, _ = codes(kept["participant"])
    item, _ = codes(kept["item"])
    criterion = system_codes(kept["criterion"], criteria)
    category = system_codes(kept["category"], categories)
    stratum = np.zeros(int(item.max()) + 1, dtype=np.int64)
    stratum[item] = category
    reps = draw_replicates(int(part.max()) + 1, len(stratum), b=b, seed=seed, item_stratum=stratum)
    outcome = system_codes(kept["chosen_system"], systems)
    counts = weighted_counts(
        reps, part, item, (criterion * n_cat + category) * k + outcome, len(criteria) * n_cat * k
    ).reshape(-1, len(criteria), n_cat, k)
    jobs = []  # (criterion, scope, votes, bootstrap counts, seed)
    for ci, name in enumerate(criteria):
        rows = criterion == ci
        part_votes = kept[rows]
        jobs.append((name, "all", part_votes, counts[:, ci].sum(axis=1), seed + 101 * ci))
        for c, label in enumerate(categories):
            frame = part_votes[category[rows] == c]
            jobs.append((name, label, frame, counts[:, ci, c], seed + 101 * ci + 1 + c))

    def estimate(job):
        name, scope, frame, scope_counts, scope_seed = job
        return criterion_estimates(
            frame, systems, b=b, seed=scope_seed, level=level, boot=shares_of(scope_counts)
        )

    for job in jobs:
        summary["criteria"].setdefault(job[0], {})[job[1]] = estimate(job)
    on_first = criterion == 0
    first = kept[on_first]
    n_slots = int(first["n_slots"].max())
    slot_counts = weighted_counts(
        reps, part[on_first], item[on_first], first["chosen_slot"].to_numpy(), n_slots
    )
    summary["position_bias"] = position_bias(
        first, b=b, seed=seed, level=level, boot=shares_of(slot_counts)
    )
    per_item = first.groupby("item").size()
    per_participant = first.groupby("participant").size()
    summary["exclusions"] = exclusions
    summary["settings"] = {
        "bootstrap": "two-way cluster (participants x items, items within category), "
        "percentile; one draw of B resamples shared by every criterion and scope",
        "B": b,
        "seed": seed,
        "level": level,
        "qc": qc.as_dict(),
    }
    summary["checklist"] = {
        "participants": int(kept["participant"].nunique()),
        "participants_before_qc": int(regular["participant"].nunique()),
        "items": int(kept["item"].nunique()),
        "items_per_category": {
            c: int(first[first["category"] == c]["item"].nunique()) for c in categories
        },
        "votes_per_criterion": {c: int((kept["criterion"] == c).sum()) for c in criteria},
        "votes_per_item": {
            "min": int(per_item.min()),
            "median": float(per_item.median()),
            "max": int(per_item.max()),
        },
        "trials_per_participant": {
            "mean": float(per_participant.mean()),
            "median": float(per_participant.median()),
            "max": int(per_participant.max()),
        },
        "exclusions_per_rule": {k: v["votes"] for k, v in exclusions["rules"].items()},
        "interval_method": f"two-way cluster bootstrap, B = {b}, percentile, seed {seed}",
        "naive_interval": "Wilson (as if votes were independent)",
        "multiplicity": "Holm over the pairs of each criterion (item-level sign-flip tests)",
        "agreement": "Krippendorff's alpha, nominal",
        "position_bias": "slot shares with bootstrap intervals; participants flagged by "
        "binomial test with Benjamini-Hochberg",
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return summary


def summary_json(summary: dict) -> dict:
    """The summary.json contract: criterion -> scope -> system -> n, share, ci_low, ci_high,
    wilson_low, wilson_high, p_vs_chance (and more), plus pairwise, alpha, omnibus, strengths,
    position bias, exclusions, settings and the checklist."""
    out: dict = {}
    extra = {"pairwise": {}, "alpha": {}, "omnibus": {}, "strengths": {}, "scope_sizes": {}}
    for criterion, scopes in summary["criteria"].items():
        out[criterion] = {scope: est["systems"] for scope, est in scopes.items()}
        extra["pairwise"][criterion] = {scope: est["pairwise"] for scope, est in scopes.items()}
        extra["alpha"][criterion] = {
            scope: est["krippendorff_alpha"] for scope, est in scopes.items()
        }
        extra["omnibus"][criterion] = {scope: est["omnibus"] for scope, est in scopes.items()}
        extra["strengths"][criterion] = {scope: est["strengths"] for scope, est in scopes.items()}
        extra["scope_sizes"][criterion] = {
            scope: {k: est[k] for k in ("n", "participants", "items")}
            for scope, est in scopes.items()
        }
    for key in ("position_bias", "exclusions", "settings", "checklist", "systems", "categories"):
        extra[key] = summary[key]
    return {**out, **extra}


def shares_table(summary: dict) -> pd.DataFrame:
    rows = []
    for criterion, scopes in summary["criteria"].items():
        for scope, est in scopes.items():
            for system, v in est["systems"].items():
                rows.append({"criterion": criterion, "scope": scope, "system": system, **v})
    return pd.DataFrame(rows)


def pairwise_table(summary: dict) -> pd.DataFrame:
    rows = []
    for criterion, scopes in summary["criteria"].items():
        for scope, est in scopes.items():
            for p in est["pairwise"]:
                rows.append({"criterion": criterion, "scope": scope, **p})
    return pd.DataFrame(rows)


def _pct(v: float) -> str:
    return f"{100 * v:.1f}"


def _cell(v: dict) -> str:
    """'share [ci_low, ci_high]' in percent."""
    return f"{_pct(v['share'])} [{_pct(v['ci_low'])}, {_pct(v['ci_high'])}]"


def table1_latex(summary: dict) -> str:
    """Overall preference (%) per instrument x system, with bootstrap 95% intervals."""
    crit = "overall" if "overall" in summary["criteria"] else next(iter(summary["criteria"]))
    scopes = summary["criteria"][crit]
    systems = summary["systems"]
    cols = [c for c in scopes if c != "all"] + ["all"]
    lines = [
        r"\begin{tabular}{l" + "c" * len(cols) + "}",
        r"\toprule",
        "System & " + " & ".join(c.replace("_", r"\_") for c in cols) + r" \\",
        r"\midrule",
    ]
    for s in systems:
        cells = []
        for c in cols:
            v = scopes[c]["systems"].get(s)
            cells.append("--" if v is None else _cell(v))
        lines.append(s.replace("_", r"\_") + " & " + " & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def report_markdown(summary: dict) -> str:
    systems = summary["systems"]
    out = ["# Listening study results", ""]
    crit = "overall" if "overall" in summary["criteria"] else next(iter(summary["criteria"]))
    scopes = summary["criteria"][crit]
    cols = [c for c in scopes if c != "all"] + ["all"]
    out += [
        f"## Table 1: {crit} preference (%), per instrument",
        "",
        "| system | " + " | ".join(cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    for s in systems:
        cells = [_cell(scopes[c]["systems"][s]) for c in cols]
        out.append(f"| {s} | " + " | ".join(cells) + " |")
    out += [
        "",
        "Shares with 95% two-way cluster bootstrap intervals.",
        "",
        "## Figure 3: correctness, noise and synchronization (all items)",
        "",
        "| criterion | " + " | ".join(systems) + " |",
        "|---" * (len(systems) + 1) + "|",
    ]
    for criterion, est in summary["criteria"].items():
        cells = [_cell(est["all"]["systems"][s]) for s in systems]
        out.append(f"| {criterion} | " + " | ".join(cells) + " |")
    out += ["", "![Figure 3](figure3.png)", "", "## Tests (all items)", ""]
    for criterion, est in summary["criteria"].items():
        om = est["all"]["omnibus"]
        wald = (
            "n/a"
            if om["wald"] is None
            else f"Wald chi2({om['df']}) = {om['wald']:.2f}, p = {om['p']:.3g}"
        )
        out.append(
            f"- **{criterion}**: {wald} (naive chi2 p = {om['p_naive']:.3g}); "
            f"Krippendorff's alpha = {est['all']['krippendorff_alpha']}"
        )
        for p in est["all"]["pairwise"]:
            out.append(
                f"  - {p['a']} - {p['b']}: {_pct(p['diff'])} points "
                f"[{_pct(p['ci_low'])}, {_pct(p['ci_high'])}], Holm p = {p['p_holm']:.3g}"
            )
    pb = summary["position_bias"]
    out += [
        "",
        "## Position bias",
        "",
        ", ".join(
            f"slot {k}: {_pct(v['share'])}% [{_pct(v['ci_low'])}, {_pct(v['ci_high'])}]"
            for k, v in pb["slots"].items()
        ),
        f"; {len(pb['flagged_participants'])} of {pb['participants_tested']} participants flagged.",
        "",
        "## Reporting checklist",
        "",
    ]
    for key, value in summary["checklist"].items():
        out.append(f"- {key.replace('_', ' ')}: {value}")
    ex = summary["exclusions"]
    out += [
        "",
        f"Exclusions: {ex['votes_excluded']} of {ex['votes_in']} votes; per rule: "
        + ", ".join(
            f"{k} {v['votes']} votes / {v['sessions']} sessions" for k, v in ex["rules"].items()
        )
        + ".",
    ]
    return "\n".join(out) + "\n"


def _bar_plot(ax, labels, estimates, systems, title):
    import numpy as np

    width = 0.8 / len(systems)
    x = np.arange(len(labels))
    for i, s in enumerate(systems):
        share = [100 * e[s]["share"] for e in estimates]
        low = [100 * (e[s]["share"] - e[s]["ci_low"]) for e in estimates]
        high = [100 * (e[s]["ci_high"] - e[s]["share"]) for e in estimates]
        ax.bar(
            x + (i - (len(systems) - 1) / 2) * width,
            share,
            width,
            yerr=[low, high],
            capsize=3,
            label=s,
        )
    ax.axhline(100 / len(systems), color="grey", lw=0.8, ls="--")
    ax.set_xticks(x, labels)
    ax.set_ylabel("preferred (%)")
    ax.set_title(title)
    ax.legend(fontsize=8)


def write_outputs(summary: dict, out: Path) -> list[Path]:
    # Figures drawn on matplotlib's Agg canvas directly (no pyplot: no GUI backend, less to
    # import, nothing global to close).
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from foley_models.data.dataset import atomic_write_bytes

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [
        atomic_write_bytes(
            out / "summary.json", json.dumps(summary_json(summary), indent=2).encode()
        ),
        atomic_write_bytes(out / "shares.csv", shares_table(summary).to_csv(index=False).encode()),
        atomic_write_bytes(
            out / "pairwise.csv", pairwise_table(summary).to_csv(index=False).encode()
        ),
        atomic_write_bytes(
            out / "exclusions.csv",
            pd.DataFrame([{"rule": k, **v} for k, v in summary["exclusions"]["rules"].items()])
            .to_csv(index=False)
            .encode(),
        ),
        atomic_write_bytes(out / "table1.tex", table1_latex(summary).encode()),
        atomic_write_bytes(out / "report.md", report_markdown(summary).encode()),
    ]
    systems = summary["systems"]
    crits = [c for c in summary["criteria"] if c != "overall"] or list(summary["criteria"])
    crit1 = "overall" if "overall" in summary["criteria"] else crits[0]
    scopes = [c for c in summary["criteria"][crit1] if c != "all"] + ["all"]
    pb = summary["position_bias"]["slots"]
    figures = {
        "figure3": lambda ax: _bar_plot(
            ax,
            crits,
            [summary["criteria"][c]["all"]["systems"] for c in crits],
            systems,
            "Preference by criterion (all items)",
        ),
        "table1": lambda ax: _bar_plot(
            ax,
            scopes,
            [summary["criteria"][crit1][s]["systems"] for s in scopes],
            systems,
            f"{crit1} preference by instrument",
        ),
        "position": lambda ax: _bar_plot(ax, ["slot"], [pb], list(pb), "Chosen slot"),
    }
    for name, draw in figures.items():
        fig = Figure(figsize=(7, 4))
        FigureCanvasAgg(fig)
        draw(fig.add_subplot())
        fig.subplots_adjust(left=0.09, right=0.98, top=0.92, bottom=0.08)  # fixed: no layout pass
        for ext in ("png", "svg"):
            image = io.BytesIO()
            fig.savefig(image, format=ext, dpi=150)
            written.append(atomic_write_bytes(out / f"{name}.{ext}", image.getvalue()))
    return written
