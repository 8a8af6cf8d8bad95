"""Objective metrics beside the votes: agreement of each metric with the raters' choices."""

import numpy as np
import pandas as pd
import pytest

from studies.analysis.objective import cell_shares, metric_agreement
from studies.analysis.simulate import simulate_votes

SYSTEMS = ["a", "b", "c", "d"]


def _votes(seed=0):
    frames = []
    for criterion in ("synchronization", "overall"):
        frames.append(simulate_votes({"a": 0.4, "b": 0.3, "c": 0.2, "d": 0.1}, participants=40,
                                     trials=10, items=12, item_sd=0.8, criterion=criterion,
                                     seed=seed))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def test_cell_shares_sum_to_one_per_item():
    votes = _votes()
    shares = cell_shares(votes, "overall")
    assert len(shares) == 12 * 4
    np.testing.assert_allclose(shares.groupby("item")["share"].sum(), 1.0)


def test_a_metric_that_tracks_the_votes_agrees_and_a_random_one_does_not():
    votes = _votes()
    truth = cell_shares(votes, "synchronization")
    rng = np.random.default_rng(5)
    metrics = truth.rename(columns={"share": "tracking"})
    metrics["tracking"] = metrics["tracking"] + rng.normal(0, 0.02, len(metrics))
    metrics["random"] = rng.random(len(metrics))
    metrics["distance"] = -metrics["tracking"]  # lower is better
    result = metric_agreement(votes, metrics, systems=SYSTEMS, b=400, seed=0)
    rows = {(r["criterion"], r["metric"]): r for r in result["agreement"]}
    tracking = rows[("synchronization", "tracking")]
    assert tracking["rho"] > 0.8 and tracking["low"] > 0.5 and tracking["cells"] == 48
    assert tracking["items"] == 12
    assert rows[("synchronization", "distance")]["rho"] == pytest.approx(-tracking["rho"])
    noise = rows[("synchronization", "random")]
    assert noise["low"] < 0 < noise["high"]
    # Beside the votes: each system's mean metric and its mean share per criterion.
    by_system = {r["system"]: r for r in result["by_system"]}
    assert list(by_system) == SYSTEMS
    assert by_system["a"]["share_overall"] > by_system["d"]["share_overall"]


def test_metrics_missing_for_some_cells_use_the_rest():
    votes = _votes()
    metrics = cell_shares(votes, "overall").rename(columns={"share": "m"})
    metrics.loc[metrics["system"] == "d", "m"] = np.nan  # e.g. a system without MIDI
    result = metric_agreement(votes, metrics, systems=SYSTEMS, b=200, seed=0)
    row = next(r for r in result["agreement"] if r["criterion"] == "overall")
    assert row["cells"] == 36
    assert next(r for r in result["by_system"] if r["system"] == "d")["m"] is None
