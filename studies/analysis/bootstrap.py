"""Two-way ("pigeonhole") cluster bootstrap (Owen 2007): participants and items are resampled
independently with replacement (items within their category when several are pooled), each
vote weighted by the product of its participant's and item's multiplicities.

Memory stays bounded: bootstrap replicates are computed in chunks of vote weights.
"""

import numpy as np

CHUNK_ELEMENTS = 8_000_000  # replicate x vote weights held at once (~64 MB of float64)


def codes(values) -> tuple[np.ndarray, np.ndarray]:
    """0-based integer codes and the unique labels they index."""
    labels, inverse = np.unique(np.asarray(values), return_inverse=True)
    return inverse.astype(np.int64), labels


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
    part_weights = rng.multinomial(n_part, np.full(n_part, 1.0 / n_part), size=b)
    item_weights = np.zeros((b, n_item))
    for g in groups:
        item_weights[:, g] = rng.multinomial(len(g), np.full(len(g), 1.0 / len(g)), size=b)
    onehot = np.zeros((len(outcome), k))
    onehot[np.arange(len(outcome)), outcome] = 1.0
    out = np.empty((b, k))
    step = max(1, CHUNK_ELEMENTS // max(len(outcome), 1))
    for start in range(0, b, step):
        stop = min(b, start + step)
        w = part_weights[start:stop][:, part] * item_weights[start:stop][:, item]
        totals = w.sum(axis=1, keepdims=True)
        totals[totals == 0] = np.nan  # an empty replicate (vanishingly rare) is dropped
        out[start:stop] = (w @ onehot) / totals
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
