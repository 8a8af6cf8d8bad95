"""`pairwise`: a win-rate matrix and Bradley-Terry strengths per criterion and scope.

Bradley-Terry (P(a beats b) = sigmoid(s_a - s_b)) is fitted by maximum likelihood with
Hunter's (2004) MM iterations, a "no preference" counting as half a win for each system (as
Chatbot Arena does). Strengths are on the log scale, normalised to mean 0 over the systems.
Each compared pair gets PRIOR_WINS virtual wins each way, so a system that never won (in the
data or in a resample) has a finite strength; at study sizes this moves strengths by well under
0.01. Intervals come from the two-way cluster bootstrap (participants x items, the same draw for
every criterion and scope), not from battles resampled as independent, which under-covers when
votes cluster by rater and item (Camp et al., Interspeech 2023). Differences between systems
get bootstrap tests (the duals of the intervals), Holm-adjusted per criterion and scope.
"""

from datetime import UTC, datetime
from itertools import combinations

import numpy as np

from studies.analysis.bootstrap import percentile_interval, two_sided_p, weighted_counts
from studies.analysis.estimates import holm
from studies.analysis.prepare import checklist_of, prepare, scopes, settings_of
from studies.analysis.votes import TIE

PRIOR_WINS = 0.01
MAX_ITER = 10_000
TOL = 1e-10


def bradley_terry(wins: np.ndarray, *, prior: float = PRIOR_WINS) -> np.ndarray:
    """Log strengths, mean 0, from wins[..., i, j] = (weighted) wins of i over j; any leading
    axes (bootstrap replicates) are fitted at once."""
    wins = np.asarray(wins, dtype=float)
    k = wins.shape[-1]
    compared = (wins + np.swapaxes(wins, -1, -2)) > 0
    wins = wins + prior * compared
    games = wins + np.swapaxes(wins, -1, -2)
    total = wins.sum(axis=-1)
    p = np.ones(wins.shape[:-1])
    for _ in range(MAX_ITER):
        denom = (games / (p[..., :, None] + p[..., None, :])).sum(axis=-1)
        new = np.where(denom > 0, total / np.where(denom > 0, denom, 1), p)
        new /= np.exp(np.log(new).mean(axis=-1, keepdims=True))
        if np.max(np.abs(np.log(new) - np.log(p))) < TOL:
            p = new
            break
        p = new
    s = np.log(p)
    return s - s.mean(axis=-1, keepdims=True) if k else s


def analyze(votes, *, qc, b: int = 2000, seed: int = 0, level: float = 0.95, info=None) -> dict:
    prep = prepare(votes, qc=qc, info=info, b=b, seed=seed)
    systems = prep.systems
    k = len(systems)
    index = {s: i for i, s in enumerate(systems)}
    a = np.array([index[slots[0]] for slots in prep.slots])
    bb = np.array([index[slots[1]] for slots in prep.slots])
    chosen = prep.kept["chosen_slot"].to_numpy()
    tie = chosen == TIE
    winner = np.where(chosen == 1, bb, a)
    loser = np.where(chosen == 1, a, bb)
    # Group codes: a decided vote (winner, loser) -> winner * k + loser; a tie -> k*k + the
    # unordered pair (low * k + high), split in halves afterwards.
    low, high = np.minimum(a, bb), np.maximum(a, bb)
    group = np.where(tie, k * k + low * k + high, winner * k + loser)
    summary: dict = {"criteria": {}}
    for criterion in prep.criteria:
        for scope, mask in scopes(prep, criterion):
            if not mask.any():
                continue
            counts = weighted_counts(
                prep.reps, prep.part[mask], prep.item[mask], group[mask], 2 * k * k
            )
            boot_wins = _wins(counts, k)
            observed = _wins(np.bincount(group[mask], minlength=2 * k * k)[None, :], k)[0]
            strength = bradley_terry(observed)
            boot = bradley_terry(boot_wins)
            lo, hi = percentile_interval(boot, level)
            games = observed + observed.T
            n_sys = games.sum(axis=1)
            bt = {
                s: {
                    "strength": float(strength[i]),
                    "ci_low": float(lo[i]),
                    "ci_high": float(hi[i]),
                    "n": int(round(n_sys[i])),
                }
                for i, s in enumerate(systems)
            }
            win_rate = {
                s: {
                    t: (float(observed[i, j] / games[i, j]) if games[i, j] else None)
                    for j, t in enumerate(systems)
                    if j != i
                }
                for i, s in enumerate(systems)
            }
            pairs = []
            for i, j in combinations(range(k), 2):
                d = boot[:, i] - boot[:, j]
                d_lo, d_hi = percentile_interval(d, level)
                pairs.append(
                    {
                        "a": systems[i],
                        "b": systems[j],
                        "difference": float(strength[i] - strength[j]),
                        "ci_low": float(d_lo),
                        "ci_high": float(d_hi),
                        "p": float(two_sided_p(d)),
                        "n": int(round(games[i, j])),
                    }
                )
            for pair, adjusted in zip(pairs, holm([p["p"] for p in pairs]), strict=True):
                pair["p_holm"] = adjusted
            summary["criteria"].setdefault(criterion, {})[scope] = {
                "bradley_terry": bt,
                "win_rate": win_rate,
                "pairs": pairs,
                "n": int(mask.sum()),
                "ties": int(tie[mask].sum()),
            }
    on_first = prep.kept["criterion"].to_numpy() == prep.criteria[0]
    decided = on_first & ~tie
    summary.update(
        design="pairwise",
        systems=systems,
        names=prep.names,
        study=info.slug if info is not None else None,
        categories=prep.categories,
        exclusions=prep.exclusions,
        order={"first_slot_chosen_share": float((chosen[decided] == 0).mean())},
        settings={**settings_of(b, seed, level, qc), "prior_wins": PRIOR_WINS},
        checklist={
            **checklist_of(prep),
            "model": "Bradley-Terry, MLE by MM (Hunter 2004), ties as half wins, log scale, "
            "mean 0 over systems",
            "interval_method": f"two-way cluster bootstrap, B = {b}, percentile, seed {seed}",
            "multiplicity": "Holm over the pairs of each criterion and scope",
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    return summary


def _wins(counts: np.ndarray, k: int) -> np.ndarray:
    """[B, k, k] wins of i over j from [B, 2k^2] group counts (ties half to each)."""
    decided = counts[:, : k * k].reshape(-1, k, k)
    ties = counts[:, k * k :].reshape(-1, k, k)
    ties = ties + np.swapaxes(ties, -1, -2)
    return decided + 0.5 * ties
