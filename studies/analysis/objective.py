"""Objective metrics beside the human votes: each system's metric means next to its human
shares, and how well each metric predicts the human choices per item and system.

Input: the kept regular votes (after QC) and a metrics frame with one row per item x system
(columns `item`, `system` and one column per metric; NaN where a metric does not apply).
For each criterion and metric: Spearman's rank correlation, over the item x system cells,
between the metric and the share of the item's votes that chose the system; its interval is a
percentile bootstrap over items (the cells of one item move together), B resamples, given only
with at least MIN_ITEMS_FOR_INTERVAL items (as for the shares: fewer give no honest interval).
A metric that predicts the raters has a positive correlation (lower-is-better metrics, such as
the log-mel distance, a negative one).
"""

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from studies.analysis.estimates import MIN_ITEMS_FOR_INTERVAL

# The criteria a sync or quality metric is meant to predict (others are added if present).
CRITERIA = ("synchronization", "overall")
MIN_CELLS = 6


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    rx, ry = rankdata(x), rankdata(y)
    return float(np.corrcoef(rx, ry)[0, 1])


def cell_shares(votes: pd.DataFrame, criterion: str) -> pd.DataFrame:
    """Share of each item's votes on `criterion` that chose each system (0 where none did)."""
    rows = votes[votes["criterion"].astype(str) == criterion]
    counts = rows.groupby([rows["item"].astype(str), rows["chosen_system"].astype(str)]).size()
    per_item = counts.groupby(level=0).transform("sum")
    shares = (counts / per_item).rename("share").reset_index()
    shares.columns = ["item", "system", "share"]
    items = shares["item"].unique()
    systems = sorted(set(votes["chosen_system"].astype(str)))
    full = pd.MultiIndex.from_product([items, systems], names=["item", "system"])
    return shares.set_index(["item", "system"]).reindex(full, fill_value=0.0).reset_index()


def metric_agreement(
    votes: pd.DataFrame,
    metrics: pd.DataFrame,
    *,
    systems: list[str],
    b: int = 2000,
    seed: int = 0,
    level: float = 0.95,
) -> dict:
    """{"by_system": [...], "agreement": [...], "metrics": [...]} (JSON-ready)."""
    metrics = metrics.copy()
    metrics["item"] = metrics["item"].astype(str)
    metrics["system"] = metrics["system"].astype(str)
    names = [c for c in metrics.columns if c not in ("item", "system")]
    present = list(dict.fromkeys(votes["criterion"].astype(str)))
    criteria = [c for c in CRITERIA if c in present] + [c for c in present if c not in CRITERIA]
    by_system = []
    shares_of = {c: cell_shares(votes, c) for c in criteria}
    for system in systems:
        row = {"system": system}
        mine = metrics[metrics["system"] == system]
        for name in names:
            values = mine[name].dropna()
            row[name] = float(values.mean()) if len(values) else None
        for c in criteria:
            cells = shares_of[c]
            row[f"share_{c}"] = float(cells.loc[cells["system"] == system, "share"].mean())
        by_system.append(row)
    rng = np.random.default_rng(seed)
    agreement = []
    alpha = (1 - level) / 2
    for c in criteria:
        joined = shares_of[c].merge(metrics, on=["item", "system"], how="inner")
        for name in names:
            cells = joined[["item", "share", name]].dropna()
            items = cells["item"].unique()
            rho = _spearman(cells[name].to_numpy(), cells["share"].to_numpy())
            row = {"criterion": c, "metric": name, "rho": rho, "low": None, "high": None,
                   "cells": int(len(cells)), "items": int(len(items))}  # fmt: skip
            enough = len(cells) >= MIN_CELLS and len(items) >= MIN_ITEMS_FOR_INTERVAL
            if enough and not np.isnan(rho):
                groups = [g.to_numpy() for _, g in cells.groupby("item")[[name, "share"]]]
                reps = []
                for _ in range(b):
                    pick = rng.integers(len(groups), size=len(groups))
                    sample = np.concatenate([groups[i] for i in pick])
                    reps.append(_spearman(sample[:, 0], sample[:, 1]))
                reps = np.array(reps)
                reps = reps[~np.isnan(reps)]
                if len(reps) >= b // 2:
                    row["low"], row["high"] = (
                        float(np.quantile(reps, q)) for q in (alpha, 1 - alpha)
                    )
            agreement.append(row)
    return {"metrics": names, "by_system": by_system, "agreement": agreement}
