"""`analyze`: quality control, estimates per criterion and scope, and the files a paper needs.

Outputs in DIR: summary.json, shares.csv, pairwise.csv, exclusions.csv, table1.tex, report.md
(Table 1: overall preference, instrument x system; Figure 3: correctness, noise,
synchronization), figure3.png/.svg, table1.png/.svg, position.png/.svg.
"""

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from studies.analysis.estimates import criterion_estimates, position_bias
from studies.analysis.qc import QCSettings, apply_qc

CRITERIA_ORDER = ("correctness", "noise", "synchronization", "overall")


def systems_of(votes: pd.DataFrame) -> list[str]:
    """The systems every regular trial shows (in order of first appearance); a row showing
    another set is an error naming its line."""
    regular = votes[~votes["is_check"]]
    # Split each distinct value once (a study has a handful), not every row.
    distinct = {v: frozenset(v.split("|")) for v in regular["slot_systems"].unique()}
    sets = regular["slot_systems"].map(distinct)
    common = sets.value_counts().index[0]
    odd = regular[sets != common]
    if len(odd):
        row = odd.iloc[0]
        raise ValueError(
            f"line {row['line']}: trial shows {row['slot_systems']!r}, but the "
            f"other trials show {'|'.join(sorted(common))}; every regular trial "
            "must show every system once"
        )
    seen: list[str] = []
    for names in regular["slot_systems"]:
        for s in names.split("|"):
            if s not in seen:
                seen.append(s)
        if len(seen) == len(common):
            break
    return seen


def analyze(
    votes: pd.DataFrame, *, qc: QCSettings, b: int = 2000, seed: int = 0, level: float = 0.95
) -> dict:
    """The whole analysis as one JSON-ready dict (see module docstring for the files)."""
    regular = votes[~votes["is_check"]]
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
    present = set(kept["criterion"].unique())
    criteria = [c for c in CRITERIA_ORDER if c in present] + sorted(present - set(CRITERIA_ORDER))
    categories = sorted(kept["category"].unique())
    summary: dict = {"criteria": {}, "systems": systems, "categories": categories}
    for ci, criterion in enumerate(criteria):
        part = kept[kept["criterion"] == criterion]
        scopes = {"all": part, **{c: part[part["category"] == c] for c in categories}}
        summary["criteria"][criterion] = {
            scope: criterion_estimates(frame, systems, b=b, seed=seed + 101 * ci + si, level=level)
            for si, (scope, frame) in enumerate(scopes.items())
        }
    first = kept[kept["criterion"] == criteria[0]]
    summary["position_bias"] = position_bias(first, b=b, seed=seed + 7, level=level)
    per_item = first.groupby("item").size()
    per_participant = first.groupby("participant").size()
    summary["exclusions"] = exclusions
    summary["settings"] = {
        "bootstrap": "two-way cluster (participants x items, items within category), percentile",
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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

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
        fig, ax = plt.subplots(figsize=(7, 4))
        draw(ax)
        fig.tight_layout()
        for ext in ("png", "svg"):
            path = out / f"{name}.{ext}"
            fig.savefig(path, dpi=150)
            written.append(path)
        plt.close(fig)
    return written
