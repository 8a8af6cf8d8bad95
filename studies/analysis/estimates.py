"""Estimates for one criterion and scope: shares with two-way cluster bootstrap intervals (the
primary, honest ones) and Wilson intervals beside them (naive: as if votes were independent),
tests against chance, an omnibus test, pairwise differences with Holm-corrected p-values,
Krippendorff's alpha, design effects, Plackett-Luce top-1 strengths; and position bias.
"""

from itertools import combinations

import choix
import krippendorff
import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from studies.analysis.bootstrap import codes, percentile_interval, pigeonhole, two_sided_p

# Sign patterns drawn at once by the Monte Carlo sign-flip test.
SIGN_CHUNK = 2000
# Above this many votes the Plackett-Luce fit is replaced by its closed form (log shares).
CHOIX_MAX_VOTES = 20_000


def _frame_codes(frame: pd.DataFrame, systems: list[str]):
    part, _ = codes(frame["participant"])
    item, item_labels = codes(frame["item"])
    index = {s: i for i, s in enumerate(systems)}
    outcome = frame["chosen_system"].map(index).to_numpy()
    category_of_item = frame.drop_duplicates("item").set_index("item")["category"]
    stratum, _ = codes(category_of_item.loc[item_labels].to_numpy())
    return part, item, outcome, stratum


def sign_flip_p(d: np.ndarray, *, resamples: int = 9999, seed: int = 0) -> float:
    """Two-sided sign-flip permutation p for 'the mean of d is 0' (d: one value per item).

    Exact over all 2^n sign patterns for n <= 12 items, else Monte Carlo with `resamples`."""
    return sign_flip_ps(np.asarray(d, dtype=float)[:, None], resamples=resamples, seed=seed)[0]


def sign_flip_ps(d: np.ndarray, *, resamples: int = 9999, seed: int = 0) -> list[float]:
    """sign_flip_p for each column of d [items, m], with one draw of sign patterns shared by
    the columns (the same draws each column would get alone: same seed, same items)."""
    d = np.asarray(d, dtype=float)
    n, m = d.shape
    out = [1.0] * m
    live = [j for j in range(m) if n and d[:, j].any()]
    if not live:
        return out
    d = d[:, live]
    observed = np.abs(d.mean(axis=0))
    if n <= 12:
        signs = 1 - 2 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1)
        p = np.mean(np.abs(signs @ d / n) >= observed - 1e-12, axis=0)
    else:
        # Random signs from random bits, in chunks (a bounded signs x items array at a time).
        rng, extreme = np.random.default_rng(seed), np.zeros(d.shape[1])
        for start in range(0, resamples, SIGN_CHUNK):
            rows = min(SIGN_CHUNK, resamples - start)
            bits = np.frombuffer(rng.bytes(rows * ((n + 7) // 8)), dtype=np.uint8)
            flips = np.unpackbits(bits.reshape(rows, -1), axis=1, count=n)
            signs = 1.0 - 2.0 * flips
            extreme += np.sum(np.abs(signs @ d / n) >= observed - 1e-12, axis=0)
        p = (extreme + 1) / (resamples + 1)
    for j, value in zip(live, p, strict=True):
        out[j] = float(value)
    return out


def holm(pvalues: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p)
    adjusted = np.empty_like(p)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, (len(p) - rank) * p[i])
        adjusted[i] = min(1.0, running)
    return adjusted.tolist()


def benjamini_hochberg(pvalues: list[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (false discovery rate)."""
    p = np.asarray(pvalues, dtype=float)
    n = len(p)
    order = np.argsort(p)
    adjusted = np.empty_like(p)
    running = 1.0
    for rank in range(n - 1, -1, -1):
        i = order[rank]
        running = min(running, p[i] * n / (rank + 1))
        adjusted[i] = running
    return adjusted.tolist()


def criterion_estimates(
    frame: pd.DataFrame, systems: list[str], *, b: int, seed: int, level: float = 0.95
) -> dict:
    """Everything reported for one criterion in one scope (frame: kept regular votes)."""
    k, n = len(systems), len(frame)
    chance = 1.0 / k
    if n == 0:
        return {"n": 0, "systems": {}, "pairwise": [], "omnibus": None}
    part, item, outcome, stratum = _frame_codes(frame, systems)
    counts = np.bincount(outcome, minlength=k)
    shares = counts / n
    boot = pigeonhole(part, item, outcome, k, b=b, seed=seed, item_stratum=stratum)
    low, high = percentile_interval(boot, level)
    p_chance = two_sided_p(boot, chance)
    deff = boot.var(axis=0, ddof=1) / np.where(
        shares * (1 - shares) > 0, shares * (1 - shares) / n, np.nan
    )
    out = {
        "n": n,
        "participants": int(frame["participant"].nunique()),
        "items": int(frame["item"].nunique()),
        "systems": {},
    }
    for i, s in enumerate(systems):
        w_low, w_high = proportion_confint(int(counts[i]), n, alpha=1 - level, method="wilson")
        out["systems"][s] = {
            "n": int(counts[i]),
            "share": float(shares[i]),
            "ci_low": float(low[i]),
            "ci_high": float(high[i]),
            "wilson_low": float(w_low),
            "wilson_high": float(w_high),
            "p_vs_chance": float(p_chance[i]),
            "p_vs_chance_naive": float(stats.binomtest(int(counts[i]), n, chance).pvalue),
            "design_effect": None if np.isnan(deff[i]) else float(deff[i]),
            "effective_n": None if np.isnan(deff[i]) or deff[i] == 0 else float(n / deff[i]),
        }
    # Omnibus: Wald test of all shares = 1/k with the bootstrap covariance (k-1 free shares),
    # and the naive chi-square beside it.
    d = shares[:-1] - chance
    cov = np.cov(boot[:, :-1], rowvar=False).reshape(k - 1, k - 1)
    try:
        wald = float(d @ np.linalg.solve(cov, d))
        p_wald = float(stats.chi2.sf(wald, k - 1))
    except np.linalg.LinAlgError:
        wald, p_wald = None, None
    chi = stats.chisquare(counts)
    out["omnibus"] = {
        "wald": wald,
        "df": k - 1,
        "p": p_wald,
        "chi2_naive": float(chi.statistic),
        "p_naive": float(chi.pvalue),
    }
    # Pairwise differences: bootstrap CI, item-level sign-flip p, Holm over the pairs.
    table = item_counts(frame, systems)
    pair_index = list(combinations(range(k), 2))
    pair_p = sign_flip_ps(
        np.stack([table[:, a] - table[:, c] for a, c in pair_index], axis=1), seed=seed
    )
    pairs = []
    for (a, c), p_value in zip(pair_index, pair_p, strict=True):
        diff = boot[:, a] - boot[:, c]
        d_low, d_high = percentile_interval(diff[:, None], level)
        pairs.append(
            {
                "a": systems[a],
                "b": systems[c],
                "diff": float(shares[a] - shares[c]),
                "ci_low": float(d_low[0]),
                "ci_high": float(d_high[0]),
                "p": p_value,
            }
        )
    for p, adjusted in zip(pairs, holm([p["p"] for p in pairs]), strict=True):
        p["p_holm"] = adjusted
    out["pairwise"] = pairs
    out["krippendorff_alpha"] = agreement(table)
    out["strengths"] = strengths(frame, systems, boot, level)
    return out


def item_counts(frame: pd.DataFrame, systems: list[str]) -> np.ndarray:
    """[items, systems] vote counts."""
    item, _ = codes(frame["item"])
    index = {s: i for i, s in enumerate(systems)}
    outcome = frame["chosen_system"].map(index).to_numpy()
    table = np.zeros((int(item.max()) + 1, len(systems)))
    np.add.at(table, (item, outcome), 1)
    return table


def agreement(table: np.ndarray) -> float | None:
    """Krippendorff's alpha (nominal) from per-item vote counts per system."""
    if table.sum(axis=1).max(initial=0) < 2:
        return None
    try:
        return float(krippendorff.alpha(value_counts=table, level_of_measurement="nominal"))
    except (ValueError, ZeroDivisionError):
        return None


def strengths(frame: pd.DataFrame, systems: list[str], boot: np.ndarray, level: float) -> dict:
    """Plackett-Luce top-1 strengths (choix), centred to mean 0, with bootstrap intervals.

    Every trial offers every system, so the maximum-likelihood strengths are the log shares
    (up to a constant); the intervals come from the same two-way bootstrap.
    """
    index = {s: i for i, s in enumerate(systems)}
    if len(frame) <= CHOIX_MAX_VOTES:
        data = []
        for chosen, offered in zip(frame["chosen_system"], frame["slot_systems"], strict=True):
            winner = index[chosen]
            losers = [index[s] for s in offered.split("|") if s != chosen]
            data.append([winner, losers])
        try:
            params = choix.ilsr_top1(len(systems), data, alpha=1e-6)
        except (RuntimeError, ValueError):
            return {}
    else:  # the closed form the fit converges to (complete choice sets), for big studies
        counts = (
            frame["chosen_system"]
            .map(index)
            .value_counts()
            .reindex(range(len(systems)), fill_value=0)
        )
        params = np.log(np.clip(counts.to_numpy(dtype=float), 1e-12, None))
    params = params - params.mean()
    with np.errstate(divide="ignore"):
        logs = np.log(np.clip(boot, 1e-12, None))
    logs = logs - logs.mean(axis=1, keepdims=True)
    low, high = percentile_interval(logs, level)
    return {
        s: {"strength": float(params[i]), "ci_low": float(low[i]), "ci_high": float(high[i])}
        for i, s in enumerate(systems)
    }


def position_bias(
    frame: pd.DataFrame, *, b: int, seed: int, level: float = 0.95, min_trials: int = 10
) -> dict:
    """Slot shares with two-way bootstrap intervals, and participants flagged for choosing one
    slot far more than chance (binomial test, Benjamini-Hochberg across participants)."""
    k = int(frame["n_slots"].max())
    part, _ = codes(frame["participant"])
    item, _ = codes(frame["item"])
    slot = frame["chosen_slot"].to_numpy()
    counts = np.bincount(slot, minlength=k)
    boot = pigeonhole(part, item, slot, k, b=b, seed=seed)
    low, high = percentile_interval(boot, level)
    shares = counts / max(len(frame), 1)
    flags = []
    pvals, names, tops = [], [], []
    # Each participant's most chosen slot and answer count, in one pass over the frame.
    per_slot = frame.groupby(["participant", "chosen_slot"]).size().unstack(fill_value=0)
    n_answers, top_counts = per_slot.sum(axis=1), per_slot.max(axis=1)
    for name in per_slot.index[n_answers.to_numpy() >= min_trials]:
        top, n = int(top_counts[name]), int(n_answers[name])
        pvals.append(stats.binomtest(top, n, 1.0 / k, alternative="greater").pvalue)
        names.append(name)
        tops.append(top / n)
    if pvals:
        flags = [
            {"participant": n, "top_slot_share": float(t), "p_bh": float(p)}
            for n, t, p in zip(names, tops, benjamini_hochberg(pvals), strict=True)
            if p < 0.05
        ]
    chi = stats.chisquare(counts)
    return {
        "slots": {
            chr(65 + i): {
                "n": int(counts[i]),
                "share": float(shares[i]),
                "ci_low": float(low[i]),
                "ci_high": float(high[i]),
            }
            for i in range(k)
        },
        "chi2_naive": float(chi.statistic),
        "p_naive": float(chi.pvalue),
        "flagged_participants": flags,
        "participants_tested": len(pvals),
    }
