"""Two-way ("pigeonhole") cluster bootstrap (Owen 2007): participants and items are resampled
independently with replacement (items within their category when several are pooled), each
vote weighted by the product of its participant's and item's multiplicities.

Fast and small: votes are gathered into one sparse participant x item count matrix per outcome,
so a replicate's weighted count is wp' C wi. One sparse-dense product per outcome and chunk of
replicates gives every replicate at once (no per-replicate loop, no replicate x vote array);
memory stays bounded by chunking the replicates.
"""

import numpy as np
from scipy import sparse

CHUNK_ELEMENTS = 8_000_000  # participant x replicate products held at once (~64 MB of float64)


def codes(values) -> tuple[np.ndarray, np.ndarray]:
    """0-based integer codes and the sorted unique labels they index (as np.unique would give,
    by hashing rather than sorting every value)."""
    import pandas as pd

    inverse, labels = pd.factorize(np.asarray(values), sort=True)
    return inverse.astype(np.int64), np.asarray(labels)


def resample_counts(rng: np.random.Generator, n: int, b: int) -> np.ndarray:
    """[b, n] float64 multiplicities of n units resampled n times with replacement, b times:
    one pass of integer draws and a bincount (no per-replicate loop)."""
    kind = np.int32 if b * n < 2**31 else np.int64
    draws = rng.integers(0, n, size=(b, n), dtype=kind)
    draws += (np.arange(b, dtype=kind) * n)[:, None]
    return np.bincount(draws.ravel(), minlength=b * n).reshape(b, n).astype(np.float64)


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
    """[b, k] bootstrap shares of outcome (0..k-1) per replicate.

    part, item: 0-based codes per vote; item_stratum: stratum code per item (None: one).
    """
    rng = np.random.default_rng(seed)
    n_part, n_item = int(part.max()) + 1, int(item.max()) + 1
    strata = np.zeros(n_item, dtype=np.int64) if item_stratum is None else item_stratum
    groups = [np.flatnonzero(strata == g) for g in np.unique(strata)]
    part_weights = resample_counts(rng, n_part, b)
    item_weights = np.zeros((b, n_item))
    for g in groups:
        item_weights[:, g] = resample_counts(rng, len(g), b)
    counts = [
        sparse.csr_matrix(
            (np.ones(int(np.sum(outcome == j))), (part[outcome == j], item[outcome == j])),
            shape=(n_part, n_item),
        )
        for j in range(k)
    ]
    out = np.empty((b, k))
    step = max(1, CHUNK_ELEMENTS // max(n_part, n_item, 1))
    for start in range(0, b, step):
        stop = min(b, start + step)
        wi = np.ascontiguousarray(item_weights[start:stop].T)  # [items, replicates]
        wp = np.ascontiguousarray(part_weights[start:stop].T)  # [participants, replicates]
        for j, c in enumerate(counts):
            out[start:stop, j] = np.einsum("pb,pb->b", wp, c @ wi)
        totals = out[start:stop].sum(axis=1, keepdims=True)
        totals[totals == 0] = np.nan  # an empty replicate (vanishingly rare) is dropped
        out[start:stop] /= totals
    return out[~np.isnan(out).any(axis=1)]


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
