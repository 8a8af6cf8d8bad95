"""`rating` (ITU-T P.808 ACR, 1-5) and `mushra` (ITU-R BS.1534, 0-100): the mean score per
system, criterion and scope with two-way cluster bootstrap intervals (participants x items),
and beside it a linear mixed model with participant and item random intercepts (statsmodels)
whose pairwise differences are Holm-adjusted. P.808's own toolkit reports 1.96 sd / sqrt(n)
over votes, which ignores that votes cluster by rater and item; the bootstrap does not.

MUSHRA post-screening (BS.1534-3): a participant who rates the hidden reference below 90 for
more than 15% of the items they rated is excluded, reported and applied before the means.
"""

import warnings
from datetime import UTC, datetime
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import special

from studies.analysis.bootstrap import percentile_interval, weighted_counts
from studies.analysis.estimates import holm
from studies.analysis.prepare import checklist_of, prepare, scopes, settings_of

REFERENCE_MIN_SCORE = 90.0
REFERENCE_MAX_SHARE = 0.15


def mushra_screening(kept: pd.DataFrame, reference: str) -> dict:
    """Participants rating the hidden reference below 90 on more than 15% of their items."""
    ref = kept[kept["chosen_system"] == reference]
    low = ref.assign(low=ref["score"] < REFERENCE_MIN_SCORE)
    per_item = low.groupby(["participant", "item"])["low"].any()
    share = per_item.groupby(level=0).mean()
    excluded = sorted(share[share > REFERENCE_MAX_SHARE].index)
    return {
        "rule": f"hidden reference rated below {REFERENCE_MIN_SCORE:g} for more than "
        f"{REFERENCE_MAX_SHARE:.0%} of the participant's items (ITU-R BS.1534-3)",
        "reference": reference,
        "participants_screened": int(len(share)),
        "participants_excluded": len(excluded),
        "excluded": excluded,
        "share_below_90": {p: float(v) for p, v in share.items()},
    }


def mixed_model(frame: pd.DataFrame, systems: list[str], level: float = 0.95) -> dict:
    """score ~ 0 + system, random intercepts for participant and item (crossed, as variance
    components of one group); pairwise differences of the system means, Wald z, Holm."""
    import statsmodels.formula.api as smf

    data = pd.DataFrame(
        {
            "score": frame["score"].to_numpy(float),
            "system": pd.Categorical(frame["chosen_system"], categories=systems),
            "participant": frame["participant"].to_numpy(),
            "item": frame["item"].to_numpy(),
            "one": 1,
        }
    )
    present = [s for s in systems if (data["system"] == s).any()]
    data["system"] = data["system"].cat.set_categories(present)
    if len(present) < 2 or data["participant"].nunique() < 2 or data["item"].nunique() < 2:
        return {"error": "too few systems, participants or items for a mixed model"}
    model = smf.mixedlm(
        "score ~ 0 + C(system)",
        data,
        groups="one",
        re_formula="0",
        vc_formula={"participant": "0 + C(participant)", "item": "0 + C(item)"},
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter; the result says if it converged
        result = model.fit(reml=True, method=["lbfgs", "powell"])
    names = [f"C(system)[{s}]" for s in present]
    params = result.fe_params[names].to_numpy()
    cov = result.cov_params().loc[names, names].to_numpy()
    z = float(special.ndtri(1 - (1 - level) / 2))
    se = np.sqrt(np.diag(cov))
    means = {
        s: {"mean": float(params[i]), "ci_low": float(params[i] - z * se[i]),
            "ci_high": float(params[i] + z * se[i])}
        for i, s in enumerate(present)
    }  # fmt: skip
    pairs = []
    for i, j in combinations(range(len(present)), 2):
        d = params[i] - params[j]
        var = cov[i, i] + cov[j, j] - 2 * cov[i, j]
        p = float(2 * special.ndtr(-abs(d) / np.sqrt(var))) if var > 0 else 1.0
        pairs.append({"a": present[i], "b": present[j], "difference": float(d), "p": p})
    for pair, adjusted in zip(pairs, holm([p["p"] for p in pairs]), strict=True):
        pair["p_holm"] = adjusted
    vc = dict(zip(model.exog_vc.names, np.atleast_1d(result.vcomp), strict=False))
    return {
        "means": means,
        "pairs": pairs,
        "variance": {
            "participant": float(vc.get("participant", np.nan)),
            "item": float(vc.get("item", np.nan)),
            "residual": float(result.scale),
        },
        "converged": bool(result.converged),
        "formula": "score ~ 0 + system + (1 | participant) + (1 | item), REML",
    }


def analyze(
    votes,
    *,
    qc,
    b: int = 2000,
    seed: int = 0,
    level: float = 0.95,
    info=None,
    design: str = "rating",
    mixed: bool = True,
) -> dict:
    """mixed: also fit the mixed model per criterion (off in calibration runs: slow)."""
    prep = prepare(votes, qc=qc, info=info, b=b, seed=seed)
    screening = None
    if design == "mushra":
        reference = _mushra_reference(prep, info)
        screening = mushra_screening(prep.kept, reference)
        if screening["excluded"]:
            keep = ~prep.kept["participant"].isin(screening["excluded"]).to_numpy()
            prep = _subset(prep, keep)
    systems = prep.systems
    k = len(systems)
    index = {s: i for i, s in enumerate(systems)}
    rated = np.array([index[s] for s in prep.kept["chosen_system"]])
    score = prep.kept["score"].to_numpy(float)
    summary: dict = {"criteria": {}, "mixed_model": {}}
    for criterion in prep.criteria:
        for scope, mask in scopes(prep, criterion):
            if not mask.any():
                continue
            part, item = prep.part[mask], prep.item[mask]
            n_boot = weighted_counts(prep.reps, part, item, rated[mask], k)
            sums = weighted_counts(prep.reps, part, item, rated[mask], k, values=score[mask])
            out = {}
            for s, name in enumerate(systems):
                rows = mask & (rated == s)
                if not rows.any():
                    continue
                ok = n_boot[:, s] > 0
                lo, hi = percentile_interval(sums[ok, s] / n_boot[ok, s], level)
                values = score[rows]
                out[name] = {
                    "n": int(rows.sum()),
                    "mean": float(values.mean()),
                    "ci_low": float(lo),
                    "ci_high": float(hi),
                    "sd": float(values.std(ddof=1)) if len(values) > 1 else None,
                    "median": float(np.median(values)),
                    "naive_ci_half_width": float(1.96 * values.std(ddof=1) / np.sqrt(len(values)))
                    if len(values) > 1
                    else None,
                    "items": int(prep.kept["item"][rows].nunique()),
                    "participants": int(prep.kept["participant"][rows].nunique()),
                }
            summary["criteria"].setdefault(criterion, {})[scope] = out
        if mixed:
            on = prep.kept["criterion"].to_numpy() == criterion
            summary["mixed_model"][criterion] = mixed_model(prep.kept[on], systems, level)
    summary.update(
        design=design,
        systems=systems,
        names=prep.names,
        study=info.slug if info is not None else None,
        categories=prep.categories,
        exclusions=prep.exclusions,
        scale=[1, 5] if design == "rating" else [0, 100],
        settings=settings_of(b, seed, level, qc),
        checklist={
            **checklist_of(prep),
            "interval_method": f"two-way cluster bootstrap, B = {b}, percentile, seed {seed}",
            "naive_interval": "1.96 sd / sqrt(n) over votes (P.808 toolkit), beside it",
            "model": "linear mixed model, participant and item random intercepts (REML); "
            "pairwise differences Wald z, Holm",
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    if screening is not None:
        summary["post_screening"] = screening
        first = prep.kept[prep.kept["criterion"] == prep.criteria[0]]
        summary["scores_by_system"] = {
            s: first.loc[first["chosen_system"] == s, "score"].tolist() for s in systems
        }
    return summary


def _mushra_reference(prep, info) -> str:
    if info is not None:
        refs = [k for k in prep.systems if info.role(k) == "reference"]
        if len(refs) == 1:
            return refs[0]
    raise ValueError(
        "MUSHRA post-screening needs to know the hidden reference: give the study file "
        "(export_votes writes it beside the votes) or analyse the study"
    )


def _subset(prep, keep: np.ndarray):
    """prep with only the rows in keep (the bootstrap draw unchanged: excluded participants
    simply contribute nothing)."""
    import dataclasses

    kept = prep.kept[keep].reset_index(drop=True)
    if kept.empty:
        raise ValueError("MUSHRA post-screening excluded every participant")
    return dataclasses.replace(
        prep,
        kept=kept,
        part=prep.part[keep],
        item=prep.item[keep],
        slots=[s for s, k in zip(prep.slots, keep, strict=True) if k],
    )
