"""Simulated votes of every design without a database (the CSV contract's columns, as
read_votes returns them), and the population values the analyses estimate, for calibration
tests and `plan_study`.

One latent model serves every design: system s has quality q_s; participant p and item i add
independent normal effects per system (sd participant_sd, item_sd), so votes cluster by
rater and by item as in real studies.
- real_or_generated: the generated version is judged the original with probability
  sigmoid(q_s + effects - q_ref - effects_ref);
- pairwise: a beats b with probability sigmoid(diff of the two), after a "no preference"
  with probability tie_rate;
- rating / mushra: score = q_s + effects + noise (sd noise_sd), rounded and clipped to the
  scale (1-5 or 0-100).
"""

from itertools import combinations

import numpy as np
import pandas as pd

from studies.analysis.votes import TIE

SCALES = {"rating": (1, 5), "mushra": (0, 100)}


def _frame(n: int, p_idx, i_idx, trials, categories, criterion, design) -> dict:
    category = np.array(categories)[i_idx % len(categories)]
    return {
        "study": "sim",
        "participant": p_idx.astype(str),
        "session": p_idx,
        "trial": np.arange(n),
        "trial_index": np.tile(np.arange(trials), n // trials),
        "item": i_idx.astype(str),
        "category": category,
        "criterion": criterion,
        "is_check": False,
        "check_expected_system": "",
        "played_all": True,
        "rt_ms": 3000,
        "submitted_at": "",
        "design": design,
    }


def simulate_design_votes(
    design: str,
    quality: dict[str, float],
    *,
    participants: int,
    trials: int,
    items: int,
    participant_sd: float = 0.0,
    item_sd: float = 0.0,
    noise_sd: float = 1.0,
    tie_rate: float = 0.0,
    reference: str | None = None,
    categories: tuple[str, ...] = ("piano",),
    criterion: str = "overall",
    seed: int = 0,
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    systems = list(quality)
    k = len(systems)
    q = np.array([quality[s] for s in systems], dtype=float)
    u = rng.normal(0, participant_sd, (participants, k))
    v = rng.normal(0, item_sd, (items, k))
    n = participants * trials
    p_idx = np.repeat(np.arange(participants), trials)
    i_idx = rng.integers(items, size=n)
    utility = q + u[p_idx] + v[i_idx]  # [n, k]
    names = np.array(systems)
    base = _frame(n, p_idx, i_idx, trials, categories, criterion, design)
    if design in ("real_or_generated", "pairwise"):
        if design == "real_or_generated":
            r = systems.index(reference)
            others = [j for j in range(k) if j != r]
            shown = np.array(others)[rng.integers(len(others), size=n)]
            pair = np.stack([np.full(n, r), shown], axis=1)
        else:
            pairs = np.array(list(combinations(range(k), 2)))
            pair = pairs[rng.integers(len(pairs), size=n)]
        flip = rng.random(n) < 0.5
        pair[flip] = pair[flip][:, ::-1]
        rows = np.arange(n)
        diff = utility[rows, pair[:, 1]] - utility[rows, pair[:, 0]]
        second = rng.random(n) < 1 / (1 + np.exp(-diff))
        chosen = second.astype(np.int64)
        if design == "real_or_generated":
            # The choice is "which has the original sound": the generated version is chosen
            # (judged real) with probability sigmoid(q_gen - q_ref), whichever slot it is in.
            gen_slot = (pair[:, 1] != r).astype(np.int64)
            d = utility[rows, pair[rows, gen_slot]] - utility[rows, r]
            judged = rng.random(n) < 1 / (1 + np.exp(-d))
            chosen = np.where(judged, gen_slot, 1 - gen_slot)
        tie = (rng.random(n) < tie_rate) if design == "pairwise" else np.zeros(n, bool)
        chosen_system = names[pair[rows, chosen]]
        frame = pd.DataFrame(
            {
                **base,
                "slot_systems": ["|".join(names[p]) for p in pair],
                "chosen_slot": np.where(tie, TIE, chosen),
                "chosen_system": np.where(tie, "", chosen_system),
                "score": np.nan,
                "n_slots": 2,
            }
        )
    else:
        low, high = SCALES[design]
        order = np.argsort(rng.random((n, k)), axis=1)
        score = utility + rng.normal(0, noise_sd, (n, k))
        score = np.clip(np.round(score), low, high)
        rows = np.repeat(np.arange(n), k)
        slot = np.tile(np.arange(k), n)
        system = order[rows, slot]
        frame = pd.DataFrame(
            {
                **{key: (val[rows] if isinstance(val, np.ndarray) else val)
                   for key, val in base.items()},
                "slot_systems": np.array(["|".join(names[o]) for o in order])[rows],
                "chosen_slot": slot,
                "chosen_system": names[system],
                "score": score[rows, system],
                "n_slots": k,
            }
        )  # fmt: skip
    frame["line"] = np.arange(len(frame)) + 2
    return frame


def population_values(
    design: str,
    quality: dict[str, float],
    *,
    participant_sd: float,
    item_sd: float,
    noise_sd: float = 1.0,
    reference: str | None = None,
    draws: int = 400_000,
    seed: int = 12345,
) -> dict[str, float]:
    """What each design's estimator targets in the population (Monte Carlo): the share judged
    real per generated system; Bradley-Terry strengths of the expected win matrix; the mean
    score per system (after rounding and clipping)."""
    rng = np.random.default_rng(seed)
    systems = list(quality)
    k = len(systems)
    q = np.array([quality[s] for s in systems], dtype=float)
    sd = np.sqrt(participant_sd**2 + item_sd**2)
    effects = q + rng.normal(0, sd, (draws, k))
    if design == "real_or_generated":
        r = systems.index(reference)
        return {
            s: float((1 / (1 + np.exp(-(effects[:, j] - effects[:, r])))).mean())
            for j, s in enumerate(systems)
            if j != r
        }
    if design == "pairwise":
        from studies.analysis.pairwise import bradley_terry

        wins = np.zeros((k, k))
        for i, j in combinations(range(k), 2):
            p = float((1 / (1 + np.exp(-(effects[:, i] - effects[:, j])))).mean())
            wins[i, j], wins[j, i] = p, 1 - p
        strengths = bradley_terry(wins * 1e6, prior=0.0)
        return dict(zip(systems, strengths.tolist(), strict=True))
    low, high = SCALES[design]
    score = np.clip(np.round(effects + rng.normal(0, noise_sd, (draws, k))), low, high)
    return dict(zip(systems, score.mean(axis=0).tolist(), strict=True))


def design_difference_power(
    design: str,
    quality: dict[str, float],
    a: str,
    c: str,
    *,
    participants: int,
    trials: int,
    items: int,
    participant_sd: float,
    item_sd: float,
    sims: int,
    b: int,
    seed: int,
    reference: str | None = None,
    noise_sd: float = 1.0,
) -> float:
    """Share of simulated studies of `design` whose two-way bootstrap interval of the a - c
    difference excludes 0: judged-real shares (real_or_generated), Bradley-Terry strengths
    (pairwise) or mean scores (rating, mushra)."""
    from studies.analysis.bootstrap import (
        codes,
        draw_replicates,
        percentile_interval,
        weighted_counts,
    )
    from studies.analysis.pairwise import _wins, bradley_terry

    systems = list(quality)
    index = {s: i for i, s in enumerate(systems)}
    k = len(systems)
    hits = 0
    for r in range(sims):
        frame = simulate_design_votes(
            design, quality, participants=participants, trials=trials, items=items,
            participant_sd=participant_sd, item_sd=item_sd, noise_sd=noise_sd,
            reference=reference, seed=seed + r,
        )  # fmt: skip
        part, _ = codes(frame["participant"])
        item, _ = codes(frame["item"])
        reps = draw_replicates(int(part.max()) + 1, int(item.max()) + 1, b=b, seed=seed + 7 + r)
        slots = [v.split("|") for v in frame["slot_systems"]]
        if design == "real_or_generated":
            shown = np.array([index[next(s for s in row if s != reference)] for row in slots])
            judged = (frame["chosen_system"].to_numpy() != reference).astype(np.int64)
            counts = weighted_counts(reps, part, item, shown * 2 + judged, 2 * k).reshape(-1, k, 2)
            stat = counts[:, :, 1] / np.maximum(counts.sum(axis=2), 1e-12)
        elif design == "pairwise":
            x = np.array([index[row[0]] for row in slots])
            y = np.array([index[row[1]] for row in slots])
            chosen = frame["chosen_slot"].to_numpy()
            w, loser = np.where(chosen == 1, y, x), np.where(chosen == 1, x, y)
            lo_, hi_ = np.minimum(x, y), np.maximum(x, y)
            group = np.where(chosen == TIE, k * k + lo_ * k + hi_, w * k + loser)
            stat = bradley_terry(_wins(weighted_counts(reps, part, item, group, 2 * k * k), k))
        else:
            rated = frame["chosen_system"].map(index).to_numpy()
            n = weighted_counts(reps, part, item, rated, k)
            sums = weighted_counts(reps, part, item, rated, k, values=frame["score"].to_numpy())
            stat = sums / np.maximum(n, 1e-12)
        low, high = percentile_interval((stat[:, index[a]] - stat[:, index[c]])[:, None])
        hits += bool(low[0] > 0 or high[0] < 0)
    return hits / sims
