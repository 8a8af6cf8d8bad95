"""Estimates for one criterion and scope: shares with two-way cluster bootstrap intervals (the
primary, honest ones) and Wilson intervals beside them (naive: as if votes were independent),
tests against chance, an omnibus test, pairwise differences with Holm-corrected p-values,
Krippendorff's alpha, design effects, Plackett-Luce top-1 strengths; and position bias.
"""

from itertools import combinations

import krippendorff
import numpy as np
import pandas as pd
from scipy import special

from studies.analysis.bootstrap import codes, percentile_interval, pigeonhole, two_sided_p

# A scope with fewer items gets no interval or test in the reports: with 2 items per instrument
# the two-way bootstrap covers the true share in about 92% of simulated studies at nominal 95%
# (4 items: 97%, 8 items: 99%; benchmarks/calibration.py), and nothing can say how a third item
# of that instrument would fare.
MIN_ITEMS_FOR_INTERVAL = 4
# Participants are screened for position bias from this many answers (fewer when sessions are
# shorter: the session length, as long as one slot chosen throughout can still be flagged).
POSITION_MIN_ANSWERS = 10
# Sign-pattern x item elements drawn at once by the Monte Carlo sign-flip test (2 MB of
# float64: a chunk stays in cache; 2,000 patterns x 2,000 items at once ran 10x slower).
SIGN_ELEMENTS = 2**18


# The naive tests and intervals, from scipy.special (scipy.stats and statsmodels take a second
# to import, a third of a small analysis); each is tested against scipy.stats / statsmodels.


def wilson(count: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for count successes in n (statsmodels' method="wilson")."""
    z = float(special.ndtri(1 - (1 - level) / 2))
    p, z2 = count / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return centre - half, centre + half


def _binom_pmf(k, n: int, p: float):
    k = np.asarray(k, dtype=float)
    log = special.gammaln(n + 1) - special.gammaln(k + 1) - special.gammaln(n - k + 1)
    return np.exp(log + special.xlogy(k, p) + special.xlog1py(n - k, -p))


def binom_sf(k, n, p: float):
    """P(X > k) for X ~ Binomial(n, p) (scipy.stats.binom.sf), elementwise."""
    k, n = np.asarray(k, dtype=np.int64), np.asarray(n, dtype=np.int64)
    inside = special.bdtrc(np.clip(k, 0, np.maximum(n - 1, 0)), n, p)
    return np.where(k < 0, 1.0, np.where(k >= n, 0.0, inside))


def binom_cdf(k, n: int, p: float):
    k = np.asarray(k, dtype=np.int64)
    return np.where(k < 0, 0.0, special.bdtr(np.clip(k, 0, n), n, p))


def _last_at_or_below(f, target: float, lo: int, hi: int) -> int:
    """For f ascending on [lo, hi]: the i with f(i) <= target < f(i + 1) (lo - 1 if none)."""
    while lo < hi:
        mid = lo + (hi - lo) // 2
        value = f(mid)
        if value < target:
            lo = mid + 1
        elif value > target:
            hi = mid - 1
        else:
            return mid
    return lo if f(lo) <= target else lo - 1


def binom_test_two_sided(k: int, n: int, p: float) -> float:
    """scipy.stats.binomtest(k, n, p).pvalue: the probability of the outcomes no more likely
    than k (relative tolerance 1e-7), the far tail's edge found by bisection as scipy does."""
    d = float(_binom_pmf(k, n, p)) * (1 + 1e-7)
    if k == p * n:
        return 1.0
    if k < p * n:
        edge = _last_at_or_below(lambda x: -_binom_pmf(x, n, p), -d, int(np.ceil(p * n)), n)
        far = n - edge + int(d == _binom_pmf(edge, n, p))  # outcomes above the mode counted
        pval = binom_cdf(k, n, p) + binom_sf(n - far, n, p)
    else:
        edge = _last_at_or_below(lambda x: _binom_pmf(x, n, p), d, 0, int(np.floor(p * n)))
        pval = binom_cdf(edge, n, p) + binom_sf(k - 1, n, p)
    return min(1.0, float(pval))


def chi2_sf(x: float, df: int) -> float:
    return float(special.chdtrc(df, x))


def chisquare(counts) -> tuple[float, float]:
    """(statistic, p) of Pearson's test of equal expected counts (scipy.stats.chisquare)."""
    counts = np.asarray(counts, dtype=float)
    expected = counts.mean()
    statistic = float(((counts - expected) ** 2 / expected).sum())
    return statistic, chi2_sf(statistic, len(counts) - 1)


def label_codes(values, labels: list[str]) -> np.ndarray:
    """Index into labels (distinct: systems, criteria, categories) of each value, -1 for a value
    not among them; a categorical is looked up once per category."""
    index = pd.Index(list(labels))
    if isinstance(getattr(values, "dtype", None), pd.CategoricalDtype):
        per_category = np.append(index.get_indexer(values.cat.categories), -1)
        return per_category[np.asarray(values.cat.codes, dtype=np.int64)]  # code -1 (NaN): -1
    return np.asarray(index.get_indexer(np.asarray(values)), dtype=np.int64)


def _frame_codes(frame: pd.DataFrame, systems: list[str]):
    """(participant, item, outcome codes per vote, category code per item)."""
    part, _ = codes(frame["participant"])
    item, _ = codes(frame["item"])
    outcome = label_codes(frame["chosen_system"], systems)
    stratum = np.zeros(int(item.max()) + 1, dtype=np.int64)
    stratum[item] = codes(frame["category"])[0]
    return part, item, outcome, stratum


SIGN_RESAMPLES = 9999
# Exact enumeration of sign patterns up to this many items.
SIGN_EXACT_MAX_ITEMS = 12


def sign_flip_floor(n_items: int, resamples: int = SIGN_RESAMPLES) -> float:
    """The smallest p the sign-flip test can give with n_items (its resolution): 2 / 2^n
    exactly (a pattern and its mirror are always as extreme), 1 / (resamples + 1) by Monte
    Carlo. With 2 items it is 0.5: no difference can be significant."""
    if n_items <= SIGN_EXACT_MAX_ITEMS:
        return min(1.0, 2.0 / 2**n_items)
    return 1.0 / (resamples + 1)


def sign_flip_p(d: np.ndarray, *, resamples: int = SIGN_RESAMPLES, seed: int = 0) -> float:
    """Two-sided sign-flip permutation p for 'the mean of d is 0' (d: one value per item).

    Exact over all 2^n sign patterns for n <= 12 items, else Monte Carlo with `resamples`."""
    return sign_flip_ps(np.asarray(d, dtype=float)[:, None], resamples=resamples, seed=seed)[0]


def sign_flip_ps(d: np.ndarray, *, resamples: int = SIGN_RESAMPLES, seed: int = 0) -> list[float]:
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
    if n <= SIGN_EXACT_MAX_ITEMS:
        signs = 1 - 2 * ((np.arange(2**n)[:, None] >> np.arange(n)) & 1)
        p = np.mean(np.abs(signs @ d / n) >= observed - 1e-12, axis=0)
    else:
        # Random signs from random bits, in chunks (a bounded signs x items array at a time).
        rng, extreme = np.random.default_rng(seed), np.zeros(d.shape[1])
        chunk = max(64, SIGN_ELEMENTS // n)
        for start in range(0, resamples, chunk):
            rows = min(chunk, resamples - start)
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
    frame: pd.DataFrame,
    systems: list[str],
    *,
    b: int,
    seed: int,
    level: float = 0.95,
    boot: np.ndarray | None = None,
) -> dict:
    """Everything reported for one criterion in one scope (frame: kept regular votes).

    boot: the scope's [B, k] bootstrap shares when the caller drew them for a whole analysis
    (see bootstrap.draw_replicates); None draws B of this scope's own with `seed`."""
    k, n = len(systems), len(frame)
    chance = 1.0 / k
    if n == 0:
        return {"n": 0, "systems": {}, "pairwise": [], "omnibus": None}
    part, item, outcome, stratum = _frame_codes(frame, systems)
    counts = np.bincount(outcome, minlength=k)
    shares = counts / n
    if boot is None:
        boot = pigeonhole(part, item, outcome, k, b=b, seed=seed, item_stratum=stratum)
    low, high = percentile_interval(boot, level)
    p_chance = two_sided_p(boot, chance)
    deff = boot.var(axis=0, ddof=1) / np.where(
        shares * (1 - shares) > 0, shares * (1 - shares) / n, np.nan
    )
    out = {
        "n": n,
        "participants": int(part.max()) + 1,  # codes are dense: 0..participants-1
        "items": len(stratum),
        "too_few_items": len(stratum) < MIN_ITEMS_FOR_INTERVAL,
        "systems": {},
    }
    for i, s in enumerate(systems):
        w_low, w_high = wilson(int(counts[i]), n, level)
        out["systems"][s] = {
            "n": int(counts[i]),
            "share": float(shares[i]),
            "ci_low": float(low[i]),
            "ci_high": float(high[i]),
            "wilson_low": float(w_low),
            "wilson_high": float(w_high),
            "p_vs_chance": float(p_chance[i]),
            "p_vs_chance_naive": binom_test_two_sided(int(counts[i]), n, chance),
            "design_effect": None if np.isnan(deff[i]) else float(deff[i]),
            "effective_n": None if np.isnan(deff[i]) or deff[i] == 0 else float(n / deff[i]),
        }
    # Omnibus: Wald test of all shares = 1/k with the bootstrap covariance (k-1 free shares),
    # and the naive chi-square beside it.
    d = shares[:-1] - chance
    cov = np.cov(boot[:, :-1], rowvar=False).reshape(k - 1, k - 1)
    try:
        wald = float(d @ np.linalg.solve(cov, d))
        p_wald = chi2_sf(wald, k - 1)
    except np.linalg.LinAlgError:
        wald, p_wald = None, None
    chi2, p_chi2 = chisquare(counts)
    out["omnibus"] = {
        "wald": wald,
        "df": k - 1,
        "p": p_wald,
        "chi2_naive": chi2,
        "p_naive": p_chi2,
    }
    # Pairwise differences: bootstrap CI and the bootstrap test that is its dual (p < 0.05
    # when the 95% interval excludes 0, up to the p-value's +1), Holm over the pairs; the item-level
    # sign-flip test beside them (exact, but blind to participants' clustering, and unable
    # to reach 0.05 with fewer than 6 items).
    table = np.bincount(item * k + outcome, minlength=len(stratum) * k).reshape(-1, k)
    table = table.astype(np.float64)
    pair_index = list(combinations(range(k), 2))
    pair_p = sign_flip_ps(
        np.stack([table[:, a] - table[:, c] for a, c in pair_index], axis=1), seed=seed
    )
    pairs = []
    for (a, c), p_items in zip(pair_index, pair_p, strict=True):
        diff = (boot[:, a] - boot[:, c])[:, None]
        d_low, d_high = percentile_interval(diff, level)
        pairs.append(
            {
                "a": systems[a],
                "b": systems[c],
                "diff": float(shares[a] - shares[c]),
                "ci_low": float(d_low[0]),
                "ci_high": float(d_high[0]),
                "p": float(two_sided_p(diff, 0.0)[0]),
                "p_min": 2.0 / (len(boot) + 1),
                "p_sign_flip": p_items,
                "p_sign_flip_min": sign_flip_floor(len(table)),
            }
        )
    for p, adjusted in zip(pairs, holm([p["p"] for p in pairs]), strict=True):
        p["p_holm"] = adjusted
    out["pairwise"] = pairs
    out["krippendorff_alpha"] = agreement(table)
    out["strengths"] = strengths(frame, systems, boot, level, counts=counts)
    return out


def agreement(table: np.ndarray) -> float | None:
    """Krippendorff's alpha (nominal) from per-item vote counts per system."""
    if table.sum(axis=1).max(initial=0) < 2:
        return None
    try:
        return float(krippendorff.alpha(value_counts=table, level_of_measurement="nominal"))
    except (ValueError, ZeroDivisionError):
        return None


def strengths(
    frame: pd.DataFrame,
    systems: list[str],
    boot: np.ndarray,
    level: float,
    *,
    counts: np.ndarray | None = None,
) -> dict:
    """Plackett-Luce top-1 strengths, centred to mean 0, with bootstrap intervals.

    When every trial offers every system the maximum-likelihood strengths are the log shares
    (up to a constant), so no fit is needed; otherwise choix fits them. The intervals come
    from the same two-way bootstrap. counts: the votes per system when the caller has them.
    """
    index = {s: i for i, s in enumerate(systems)}
    complete = "n_slots" in frame and bool((frame["n_slots"] == len(systems)).all())
    if not complete:
        import choix  # imports scipy.stats (a second): only for incomplete choice sets

        data = []
        for chosen, offered in zip(frame["chosen_system"], frame["slot_systems"], strict=True):
            winner = index[chosen]
            losers = [index[s] for s in offered.split("|") if s != chosen]
            data.append([winner, losers])
        try:
            params = choix.ilsr_top1(len(systems), data, alpha=1e-6)
        except (RuntimeError, ValueError):
            return {}
    else:  # complete choice sets: the closed form the fit converges to
        if counts is None:
            counts = np.bincount(label_codes(frame["chosen_system"], systems), minlength=len(index))
        params = np.log(np.clip(np.asarray(counts, dtype=float), 1e-12, None))
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
    frame: pd.DataFrame,
    *,
    b: int,
    seed: int,
    level: float = 0.95,
    min_trials: int = POSITION_MIN_ANSWERS,
    boot: np.ndarray | None = None,
) -> dict:
    """Slot shares with two-way bootstrap intervals, and participants flagged for choosing one
    slot far more than chance: a binomial test of their most chosen slot, Bonferroni over the
    k slots (the slot is picked after looking), Benjamini-Hochberg across participants.
    Participants with fewer than min_trials answers are not tested; `note` says when even a
    participant who always chose one slot in min_trials answers could not be flagged.

    boot: [B, slots] bootstrap slot shares drawn by the caller; None draws its own."""
    k = int(frame["n_slots"].max())
    slot = frame["chosen_slot"].to_numpy()
    counts = np.bincount(slot, minlength=k)
    if boot is None:
        part, _ = codes(frame["participant"])
        item, _ = codes(frame["item"])
        boot = pigeonhole(part, item, slot, k, b=b, seed=seed)
    low, high = percentile_interval(boot, level)
    shares = counts / max(len(frame), 1)
    flags = []
    # Each participant's most chosen slot and answer count, from one (participant, slot) table.
    part, labels = codes(frame["participant"])
    per_slot = np.bincount(part * k + slot, minlength=len(labels) * k).reshape(-1, k)
    n_answers, top_counts = per_slot.sum(axis=1), per_slot.max(axis=1)
    tested = np.flatnonzero(n_answers >= min_trials)
    # binomtest(top, n, 1/k, alternative="greater").pvalue is binom.sf(top - 1, n, 1/k).
    pvals = np.minimum(1.0, k * binom_sf(top_counts[tested] - 1, n_answers[tested], 1.0 / k))
    if len(pvals):
        flags = [
            {
                "participant": str(labels[i]),
                "top_slot_share": float(top_counts[i] / n_answers[i]),
                "p_bh": float(p),
            }
            for i, p in zip(tested, benjamini_hochberg(pvals), strict=True)
            if p < 0.05
        ]
    chi2, p_chi2 = chisquare(counts)
    always_one_slot = min(1.0, k * (1.0 / k) ** min_trials)  # the smallest p at min_trials
    note = None
    if always_one_slot >= 0.05:
        note = (
            f"not screened: with {min_trials} answers per participant even choosing one slot "
            f"every time gives p = {always_one_slot:.2g}"
        )
    elif not len(tested):
        note = f"not screened: no participant gave {min_trials} answers"
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
        "chi2_naive": chi2,
        "p_naive": p_chi2,
        "flagged_participants": flags,
        "participants_tested": int(len(tested)),
        "min_answers": int(min_trials),
        "note": note,
    }
