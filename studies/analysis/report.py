"""`analyze`: quality control, estimates per criterion and scope, and the files a paper needs.

Outputs in DIR: summary.json, shares.csv, pairwise.csv, exclusions.csv, table1.tex (a LaTeX
table float; needs booktabs), report.md (Table 1: overall preference, instrument x system;
Figure 3: correctness, noise, synchronization; tests; position bias; checklist), and the
figures figure3, table1 and position as PNG, SVG and PDF. Systems appear in the study's order
under their display names when the analysis has the study's information (analyze STUDY, or a
votes CSV with the study file export_votes writes beside it).
"""

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from studies.analysis.bootstrap import codes, draw_replicates, shares_of, weighted_counts
from studies.analysis.estimates import (
    MIN_ITEMS_FOR_INTERVAL,
    POSITION_MIN_ANSWERS,
    criterion_estimates,
    label_codes,
    position_bias,
)
from studies.analysis.objective import metric_agreement
from studies.analysis.qc import QCSettings, apply_qc
from studies.analysis.study_info import StudyInfo

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
    votes: pd.DataFrame,
    *,
    qc: QCSettings,
    b: int = 2000,
    seed: int = 0,
    level: float = 0.95,
    info: StudyInfo | None = None,
    objective: pd.DataFrame | None = None,
) -> dict:
    """The whole analysis as one JSON-ready dict (see module docstring for the files).

    info: the study's systems (order, display names), criteria order and session length;
    None: systems in order of first appearance, named by their keys.
    objective: metrics per item x system (analysis.objective), put beside the kept votes."""
    regular = votes.loc[~votes["is_check"], ["participant", "n_slots"]]
    if regular.empty:
        raise ValueError("there are no votes to analyse (no regular trials answered yet)")
    systems = systems_of(votes)
    if info is not None:
        unknown = sorted(set(systems) - set(info.systems))
        if unknown:
            raise ValueError(
                f"the votes show systems {', '.join(unknown)} that the study file of "
                f"{info.slug!r} does not list ({', '.join(info.systems)})"
            )
        systems = [k for k in info.systems if k in systems]
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
    order = list(info.criteria) if info is not None else []
    order += [c for c in CRITERIA_ORDER if c not in order]
    criteria = [c for c in order if c in present] + sorted(present - set(order))
    categories = sorted(kept["category"].cat.categories)
    summary: dict = {
        "criteria": {},
        "systems": systems,
        "names": {k: (info.systems[k] if info is not None else k) for k in systems},
        "study": info.slug if info is not None else None,
        "categories": categories,
    }
    # One two-way resample of the whole study serves every criterion, scope and outcome.
    k, n_cat = len(systems), len(categories)
    part, _ = codes(kept["participant"])
    item, _ = codes(kept["item"])
    criterion = label_codes(kept["criterion"], criteria)
    category = label_codes(kept["category"], categories)
    stratum = np.zeros(int(item.max()) + 1, dtype=np.int64)
    stratum[item] = category
    reps = draw_replicates(int(part.max()) + 1, len(stratum), b=b, seed=seed, item_stratum=stratum)
    outcome = label_codes(kept["chosen_system"], systems)
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
    per_item = first.groupby("item").size()
    per_participant = first.groupby("participant").size()
    # Screen every participant who finished a session: sessions shorter than the usual minimum
    # lower it to their length (the session length of the study file, else the median).
    length = info.trials_per_session if info is not None else int(per_participant.median())
    summary["position_bias"] = position_bias(
        first,
        b=b,
        seed=seed,
        level=level,
        min_trials=max(2, min(POSITION_MIN_ANSWERS, length)),
        boot=shares_of(slot_counts),
    )
    summary["exclusions"] = exclusions
    if objective is not None and not objective.empty:
        summary["objective"] = metric_agreement(
            kept, objective, systems=systems, b=b, seed=seed, level=level
        )
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
        "multiplicity": "Holm over the pairs of each criterion (two-way bootstrap tests, the "
        "duals of the intervals; item-level sign-flip p beside them in pairwise.csv)",
        "agreement": "Krippendorff's alpha, nominal",
        "position_bias": "slot shares with bootstrap intervals; participants flagged by "
        "binomial test of their most chosen slot (Bonferroni over slots) with "
        "Benjamini-Hochberg",
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
    for key in (
        "position_bias", "exclusions", "settings", "checklist", "systems", "names", "study",
        "categories",
    ):  # fmt: skip
        extra[key] = summary[key]
    if "objective" in summary:
        extra["objective"] = summary["objective"]
    return {**out, **extra}


def _num(value) -> str:
    return "-" if value is None or value != value else f"{value:.3f}"


def objective_markdown(summary: dict) -> list[str]:
    """The objective metrics section of report.md (empty without objective metrics)."""
    obj = summary.get("objective")
    if not obj:
        return []
    names = obj["metrics"]
    shares = [k for k in obj["by_system"][0] if k.startswith("share_")] if obj["by_system"] else []
    out = [
        "",
        "## Objective metrics beside the votes",
        "",
        "Means over items of each clip's metrics (foley_models.metrics; the platform's "
        "docs/explanation/objective-metrics.md), and the mean share of each item's votes "
        "that chose the system.",
        "",
        "| system | " + " | ".join(names + [s.replace("share_", "share ") for s in shares]) + " |",
        "|---" * (1 + len(names) + len(shares)) + "|",
    ]
    for row in obj["by_system"]:
        cells = [_num(row[n]) for n in names] + [_pct(row[s]) + "%" for s in shares]
        out.append(f"| {_name(summary, row['system'])} | " + " | ".join(cells) + " |")
    out += [
        "",
        "How well each metric predicts the raters: Spearman's rank correlation over item x "
        "system cells between the metric and the share of the item's votes for the system, "
        f"with a {int(100 * summary['settings']['level'])}% bootstrap interval over items "
        "(lower-is-better metrics such as logmel_db should correlate negatively; no interval "
        f"with fewer than {MIN_ITEMS_FOR_INTERVAL} items).",
        "",
        "| criterion | metric | rho | interval | cells | items |",
        "|---|---|---|---|---|---|",
    ]
    for r in obj["agreement"]:
        interval = "-" if r["low"] is None else f"[{r['low']:.2f}, {r['high']:.2f}]"
        rho = "-" if r["rho"] != r["rho"] else f"{r['rho']:.2f}"
        out.append(f"| {r['criterion']} | {r['metric']} | {rho} | {interval} | {r['cells']} "
                   f"| {r['items']} |")  # fmt: skip
    return out


def _name(summary: dict, key: str) -> str:
    """A system's display name (its key when the analysis had no study file)."""
    return summary.get("names", {}).get(key, key)


def _scope_n(est: dict) -> str:
    return f"{est['n']} / {est['participants']} / {est['items']}"


def format_p(p: float | None, floor: float | None = None) -> str:
    """A p-value as printed: "< 0.001" below 0.001; at the smallest value its method can give
    (floor: 1 / resamples, a bootstrap's 2 / (B + 1)) "<= floor", not a spuriously exact
    number; else three decimals."""
    if p is None or p != p:
        return "n/a"
    if floor is not None and floor >= 0.001 and p <= floor * (1 + 1e-9):
        return f"<= {floor:.3f}"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def format_alpha(alpha: float | None) -> str:
    return "n/a" if alpha is None else f"{alpha:.3f}"


def _bootstrap_floor(summary: dict) -> float:
    return 2.0 / (summary["settings"]["B"] + 1)


def shares_table(summary: dict) -> pd.DataFrame:
    """One row per criterion x scope x system: the system's votes (n) beside the scope's
    votes, participants and items."""
    rows = []
    for criterion, scopes in summary["criteria"].items():
        for scope, est in scopes.items():
            for system, v in est["systems"].items():
                rows.append(
                    {
                        "criterion": criterion,
                        "scope": scope,
                        "system": system,
                        "name": _name(summary, system),
                        "scope_votes": est["n"],
                        "scope_participants": est["participants"],
                        "scope_items": est["items"],
                        "too_few_items": est.get("too_few_items", False),
                        **v,
                    }
                )
    return pd.DataFrame(rows)


def pairwise_table(summary: dict) -> pd.DataFrame:
    rows = []
    for criterion, scopes in summary["criteria"].items():
        for scope, est in scopes.items():
            for p in est["pairwise"]:
                rows.append(
                    {
                        "criterion": criterion,
                        "scope": scope,
                        **p,
                        "a_name": _name(summary, p["a"]),
                        "b_name": _name(summary, p["b"]),
                        "scope_items": est["items"],
                    }
                )
    return pd.DataFrame(rows)


def _pct(v: float) -> str:
    return f"{100 * v:.1f}"


def _cell(v: dict, est: dict | None = None) -> str:
    """'share [ci_low, ci_high]' in percent; the share alone, marked, where the scope has too
    few items for an honest interval."""
    if est is not None and est.get("too_few_items"):
        return f"{_pct(v['share'])} (no interval: {est['items']} items)"
    return f"{_pct(v['share'])} [{_pct(v['ci_low'])}, {_pct(v['ci_high'])}]"


def _few_items_note(summary: dict, scopes: dict) -> str:
    few = [s for s, est in scopes.items() if est.get("too_few_items")]
    if not few:
        return ""
    return (
        f" {', '.join(few)}: fewer than {MIN_ITEMS_FOR_INTERVAL} items, so no interval or test "
        "is shown (with 2 items per instrument two-way bootstrap intervals cover the truth in "
        "about 92% of simulated studies, not 95%)."
    )


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}  # fmt: skip


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def _table1_parts(summary: dict) -> tuple[str, dict, list[str]]:
    crit = "overall" if "overall" in summary["criteria"] else next(iter(summary["criteria"]))
    scopes = summary["criteria"][crit]
    return crit, scopes, [c for c in scopes if c != "all"] + ["all"]


def _table1_caption(summary: dict, crit: str) -> str:
    b = summary["settings"]["B"]
    level = round(100 * summary["settings"]["level"])
    return (
        f"{crit.capitalize()} preference (%) per instrument: the share of votes choosing each "
        f"system, with {level}% two-way cluster bootstrap intervals (participants and items "
        f"resampled, items within instrument, B = {b}). Chance is "
        f"{100 / len(summary['systems']):.0f}%. n: votes / participants / items."
    )


def table1_latex(summary: dict) -> str:
    """Table 1 as a self-contained LaTeX table float (it needs booktabs, said at the top)."""
    crit, scopes, cols = _table1_parts(summary)
    systems = summary["systems"]
    study = summary.get("study")
    lines = [
        f"% Table 1{f' of study {study}' if study else ''}, written by manage.py analyze.",
        r"% Needs \usepackage{booktabs} in the preamble.",
        r"\begin{table}[t]",
        r"\centering",
        r"\caption{"
        + latex_escape(_table1_caption(summary, crit) + _few_items_note(summary, scopes))
        + "}",
        r"\label{tab:" + latex_escape(crit) + "-preference}",
        r"\begin{tabular}{l" + "c" * len(cols) + "}",
        r"\toprule",
        "System & " + " & ".join(latex_escape(c) for c in cols) + r" \\",
        r"\midrule",
    ]
    for s in systems:
        cells = []
        for c in cols:
            v = scopes[c]["systems"].get(s)
            cells.append("--" if v is None else _cell(v))
        lines.append(latex_escape(_name(summary, s)) + " & " + " & ".join(cells) + r" \\")
    lines += [
        r"\midrule",
        "$n$ & " + " & ".join(_scope_n(scopes[c]) for c in cols) + r" \\",
        r"\bottomrule",
        r"\end{tabular}",
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"


def report_markdown(summary: dict) -> str:
    systems = summary["systems"]
    names = [_name(summary, s) for s in systems]
    floor = _bootstrap_floor(summary)
    out = ["# Listening study results", ""]
    if summary.get("study"):
        out += [f"Study `{summary['study']}`.", ""]
    crit, scopes, cols = _table1_parts(summary)
    out += [
        f"## Table 1: {crit} preference (%), per instrument",
        "",
        "| system | " + " | ".join(cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    for s, name in zip(systems, names, strict=True):
        cells = [_cell(scopes[c]["systems"][s], scopes[c]) for c in cols]
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    out += [
        "| n | " + " | ".join(_scope_n(scopes[c]) for c in cols) + " |",
        "",
        _table1_caption(summary, crit) + _few_items_note(summary, scopes),
        "",
        "## Figure 3: correctness, noise and synchronization (all items)",
        "",
        "| criterion | " + " | ".join(names) + " | n |",
        "|---" * (len(systems) + 2) + "|",
    ]
    for criterion, est in summary["criteria"].items():
        cells = [_cell(est["all"]["systems"][s], est["all"]) for s in systems]
        out.append(f"| {criterion} | " + " | ".join(cells) + f" | {_scope_n(est['all'])} |")
    out += [
        "",
        "Shares (%) with 95% two-way cluster bootstrap intervals; n: votes / participants / items.",
        "",
        "![Figure 3](figure3.png)",
        "",
        "## Tests (all items)",
        "",
    ]
    for criterion, est in summary["criteria"].items():
        om = est["all"]["omnibus"]
        wald = (
            "n/a"
            if om["wald"] is None
            else f"Wald chi2({om['df']}) = {om['wald']:.2f}, p {_p_clause(om['p'])}"
        )
        out.append(
            f"- **{criterion}**: {wald} (naive chi2 p {_p_clause(om['p_naive'])}); "
            f"Krippendorff's alpha = {format_alpha(est['all']['krippendorff_alpha'])}"
        )
        for p in [] if est["all"].get("too_few_items") else est["all"]["pairwise"]:
            out.append(
                f"  - {_name(summary, p['a'])} - {_name(summary, p['b'])}: "
                f"{_pct(p['diff'])} points [{_pct(p['ci_low'])}, {_pct(p['ci_high'])}], "
                f"Holm p {_p_clause(p['p_holm'], p.get('p_min'))}"
            )
    out += [
        "",
        "Chance tests of each share: bootstrap p-values (resolution "
        f"{format_p(floor, floor).replace('<= ', '')}) in summary.json and shares.csv.",
    ]
    pb = summary["position_bias"]
    screened = (
        pb["note"]
        if pb.get("note")
        else f"{len(pb['flagged_participants'])} of {pb['participants_tested']} participants "
        f"with at least {pb['min_answers']} answers flagged"
    )
    out += objective_markdown(summary)
    out += [
        "",
        "## Position bias",
        "",
        ", ".join(
            f"slot {k}: {_pct(v['share'])}% [{_pct(v['ci_low'])}, {_pct(v['ci_high'])}]"
            for k, v in pb["slots"].items()
        )
        + f"; {screened}.",
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


def _p_clause(p: float | None, floor: float | None = None) -> str:
    """'= 0.012', '< 0.001' or '<= 0.500' after a 'p'."""
    text = format_p(p, floor)
    return text if text.startswith(("<", "n/a")) else f"= {text}"


def _bar_plot(ax, labels, estimates, systems, title, names=None, ylabel="preferred (%)", few=None):
    """Grouped bars with interval whiskers; groups flagged in `few` get no whiskers."""
    import numpy as np

    width = 0.8 / len(systems)
    x = np.arange(len(labels))
    keep = [float("nan") if (few and few[g]) else 100.0 for g in range(len(labels))]
    for i, s in enumerate(systems):
        share = [100 * e[s]["share"] for e in estimates]
        low = [w * (e[s]["share"] - e[s]["ci_low"]) for e, w in zip(estimates, keep, strict=True)]
        high = [w * (e[s]["ci_high"] - e[s]["share"]) for e, w in zip(estimates, keep, strict=True)]
        ax.bar(
            x + (i - (len(systems) - 1) / 2) * width,
            share,
            width,
            yerr=[low, high],
            capsize=3,
            label=(names or {}).get(s, s),
            color=f"C{i}",
        )
    ax.axhline(100 / len(systems), color="grey", lw=0.8, ls="--", label="chance")
    ax.set_xticks(x, labels)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)


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
    if summary.get("objective"):
        obj = summary["objective"]
        written += [
            atomic_write_bytes(
                out / "objective.csv", pd.DataFrame(obj["by_system"]).to_csv(index=False).encode()
            ),
            atomic_write_bytes(
                out / "metric_agreement.csv",
                pd.DataFrame(obj["agreement"]).to_csv(index=False).encode(),
            ),
        ]
    systems = summary["systems"]
    names = summary.get("names", {})
    crits = [c for c in summary["criteria"] if c != "overall"] or list(summary["criteria"])
    crit1, scopes_of_1, _ = _table1_parts(summary)
    scopes = [c for c in scopes_of_1 if c != "all"] + ["all"]
    pb = summary["position_bias"]["slots"]
    figures = {
        "figure3": lambda ax: _bar_plot(
            ax,
            [f"{c}\nn = {summary['criteria'][c]['all']['n']}" for c in crits],
            [summary["criteria"][c]["all"]["systems"] for c in crits],
            systems,
            "Preference by criterion (all items; n: votes)",
            names,
        ),
        "table1": lambda ax: _bar_plot(
            ax,
            [
                f"{s}\nn = {scopes_of_1[s]['n']}"
                + ("\nno interval" if scopes_of_1[s].get("too_few_items") else "")
                for s in scopes
            ],
            [scopes_of_1[s]["systems"] for s in scopes],
            systems,
            f"{crit1.capitalize()} preference by instrument (n: votes)",
            names,
            few=[scopes_of_1[s].get("too_few_items") for s in scopes],
        ),
        "position": lambda ax: _bar_plot(
            ax, ["slot"], [pb], list(pb), "Chosen slot (first criterion)", ylabel="chosen (%)"
        ),
    }
    for name, draw in figures.items():
        fig = Figure(figsize=(8, 4))
        FigureCanvasAgg(fig)
        draw(fig.add_subplot())
        fig.subplots_adjust(left=0.08, right=0.78, top=0.9, bottom=0.17)  # fixed: no layout pass
        for ext in ("png", "svg", "pdf"):
            image = io.BytesIO()
            fig.savefig(image, format=ext, dpi=150)
            written.append(atomic_write_bytes(out / f"{name}.{ext}", image.getvalue()))
    return written
