"""Two-way ("pigeonhole") cluster bootstrap (Owen 2007): participants and items are resampled
independently with replacement (items within their category when several are pooled), each
vote weighted by the product of its participant's and item's multiplicities.

One draw serves a whole analysis: `draw_replicates` gives every participant and every item its
multiplicity in each of B replicates once, and every criterion, scope and outcome is counted
from those same draws (a category's scope is the study's resample seen through that category,
so the "all" scope's counts are the sum of the categories'). Counting is one sparse-dense
product per chunk of replicates: votes are gathered into a (group x item) by participant count
matrix, so a group's weighted count is sum over items of wi * (C wp). Multiplicities and
per-item sums are small integers, exact in float32 (half the memory traffic of float64);
the sums over items are taken in float64. Chunks of a few dozen replicates keep the dense
operand in cache, and two threads share the chunks (scipy's sparse kernels release the GIL).
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from scipy import sparse

CHUNK = 32  # replicates per sparse-dense product (participants x 32 float32 stays in cache)
THREADS = 2


def codes(values) -> tuple[np.ndarray, np.ndarray]:
    """0-based integer codes and the sorted unique labels they index (as np.unique would give,
    by hashing rather than sorting every value)."""
    import pandas as pd

    inverse, labels = pd.factorize(values, sort=True)
    return np.asarray(inverse, dtype=np.int64), np.asarray(labels)


def resample_counts(rng: np.random.Generator, n: int, b: int) -> np.ndarray:
    """[n, b] float32 multiplicities of n units resampled n times with replacement, b times:
    integer draws and a bincount per block of CHUNK replicates (a block's counts stay in
    cache; one bincount over all B x n scatters across memory and is ten times slower)."""
    out = np.empty((n, b), dtype=np.float32)
    kind = np.int32 if CHUNK * n < 2**31 else np.int64
    for start in range(0, b, CHUNK):
        rows = min(CHUNK, b - start)
        draws = rng.integers(0, n, size=(rows, n), dtype=kind)
        draws += (np.arange(rows, dtype=kind) * n)[:, None]
        out[:, start : start + rows] = (
            np.bincount(draws.ravel(), minlength=rows * n).reshape(rows, n).T
        )
    return out


@dataclass(frozen=True)
class Replicates:
    """Multiplicities of B two-way resamples: participants [n_part, B], items [n_item, B]."""

    participants: np.ndarray
    items: np.ndarray

    @property
    def b(self) -> int:
        return self.participants.shape[1]


def draw_replicates(
    n_part: int, n_item: int, *, b: int, seed: int, item_stratum: np.ndarray | None = None
) -> Replicates:
    """B resamples of n_part participants and n_item items (items within their stratum code;
    None: one stratum)."""
    rng = np.random.default_rng(seed)
    strata = np.zeros(n_item, dtype=np.int64) if item_stratum is None else item_stratum
    participants = resample_counts(rng, n_part, b)
    items = np.zeros((n_item, b), dtype=np.float32)
    for g in np.unique(strata):
        members = np.flatnonzero(strata == g)
        items[members] = resample_counts(rng, len(members), b)
    return Replicates(participants, items)


def weighted_counts(
    reps: Replicates,
    part: np.ndarray,
    item: np.ndarray,
    group: np.ndarray,
    n_groups: int,
    values: np.ndarray | None = None,
) -> np.ndarray:
    """[B, n_groups] weighted vote counts per group code (0..n_groups-1) in every replicate;
    with `values`, weighted sums of them (a score per vote: 1-5 or 0-100, exact in float32).

    part, item: 0-based codes per vote into reps' participants and items."""
    n_part, n_item = reps.participants.shape[0], reps.items.shape[0]
    rows = np.asarray(group, dtype=np.int64) * n_item + item
    data = np.ones(len(rows), dtype=np.float32) if values is None else values.astype(np.float32)
    matrix = sparse.csr_matrix((data, (rows, part)), shape=(n_groups * n_item, n_part))
    matrix.sum_duplicates()
    out = np.empty((reps.b, n_groups))

    def chunk(start: int) -> None:
        stop = min(reps.b, start + CHUNK)
        per_item = (matrix @ np.ascontiguousarray(reps.participants[:, start:stop])).reshape(
            n_groups, n_item, stop - start
        )
        out[start:stop] = np.einsum(
            "gir,ir->rg", per_item, reps.items[:, start:stop], dtype=np.float64, casting="safe"
        )

    starts = range(0, reps.b, CHUNK)
    if THREADS > 1 and len(starts) > 1:
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(chunk, starts))
    else:
        for start in starts:
            chunk(start)
    return out


def shares_of(counts: np.ndarray) -> np.ndarray:
    """[B, k] shares from [B, k] weighted counts; a replicate with no votes (vanishingly rare:
    every resampled participant or item missing from the scope) is dropped."""
    totals = counts.sum(axis=1, keepdims=True)
    keep = totals[:, 0] > 0
    return counts[keep] / totals[keep]


def pigeonhole(
    part: np.ndarray,
    item: np.ndarray,
    outcome: np.ndarray,
    k: int,
    *,
    b: int,
    seed: int,
    item_stratum: np.ndarray | None = None,
) -> np.ndarray:
    """[b, k] bootstrap shares of outcome (0..k-1) per replicate, from a draw of its own.

    part, item: 0-based codes per vote; item_stratum: stratum code per item (None: one).
    """
    reps = draw_replicates(
        int(part.max()) + 1, int(item.max()) + 1, b=b, seed=seed, item_stratum=item_stratum
    )
    return shares_of(weighted_counts(reps, part, item, outcome, k))


def percentile_interval(samples: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1 - level) / 2
    return np.quantile(samples, alpha, axis=0), np.quantile(samples, 1 - alpha, axis=0)


def two_sided_p(samples: np.ndarray, null: float = 0.0) -> np.ndarray:
    """Bootstrap p-value of 'the statistic equals null': twice the smaller tail, floored at
    1/(B+1)."""
    n = samples.shape[0]
    below = ((samples <= null).sum(axis=0) + 1) / (n + 1)
    above = ((samples >= null).sum(axis=0) + 1) / (n + 1)
    return np.minimum(1.0, 2 * np.minimum(below, above))
