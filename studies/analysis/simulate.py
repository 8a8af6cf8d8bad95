"""Synthetic raters of known preference, for dry runs, calibration checks and planning.

Choice model: a rater picks slot j with probability proportional to
exp(log pref[system_j] + u_participant[system_j] + v_item[system_j] + bias * [j == 0]),
with u ~ N(0, participant_sd) and v ~ N(0, item_sd) drawn per participant/item and system.
The population share of a system (what the study estimates) is the mean choice probability
over random participants and items; `true_shares` computes it by Monte Carlo.
"""

import numpy as np
import pandas as pd

from studies.analysis.bootstrap import codes, percentile_interval, pigeonhole


def parse_preferences(text: str, systems: list[str] | None = None) -> dict[str, float]:
    """'a=0.5,b=0.3,c=0.2' -> normalised shares; checks the names against the study's."""
    prefs = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, _, value = part.partition("=")
        try:
            weight = float(value)
        except ValueError:
            raise ValueError(f"preference {part.strip()!r} is not name=number") from None
        if weight <= 0:
            raise ValueError(f"preference for {name.strip()!r} must be positive")
        prefs[name.strip()] = weight
    if systems is not None:
        unknown = sorted(set(prefs) - set(systems))
        missing = sorted(set(systems) - set(prefs))
        if unknown or missing:
            raise ValueError(
                f"preferences must name exactly the study's systems "
                f"({', '.join(systems)}); unknown: {unknown}, missing: {missing}"
            )
    if len(prefs) < 2:
        raise ValueError("give preferences for at least two systems")
    total = sum(prefs.values())
    return {k: v / total for k, v in prefs.items()}


def parse_scores(text: str, systems: list[str], low: float, high: float) -> dict[str, float]:
    """'a=4.1,b=2.5' -> mean scores per system, each on the scale [low, high]; names checked
    against the study's systems."""
    scores = {}
    for part in text.split(","):
        if not part.strip():
            continue
        name, _, value = part.partition("=")
        try:
            scores[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"score {part.strip()!r} is not name=number") from None
        if not low <= scores[name.strip()] <= high:
            raise ValueError(f"mean score for {name.strip()!r} must be within {low:g}-{high:g}")
    unknown, missing = sorted(set(scores) - set(systems)), sorted(set(systems) - set(scores))
    if unknown or missing:
        raise ValueError(
            f"scores must name exactly the study's systems ({', '.join(systems)}); unknown: "
            f"{unknown}, missing: {missing}"
        )
    return scores


def choice_probabilities(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def true_shares(
    prefs: dict[str, float],
    participant_sd: float,
    item_sd: float,
    draws: int = 200_000,
    seed: int = 12345,
) -> np.ndarray:
    """Population share per system (random slot order, so position bias averages out)."""
    rng = np.random.default_rng(seed)
    base = np.log(np.array(list(prefs.values())))
    k = len(base)
    u = rng.normal(0, participant_sd, (draws, k)) + rng.normal(0, item_sd, (draws, k))
    return choice_probabilities(base + u).mean(axis=0)


def simulate_votes(
    prefs: dict[str, float],
    *,
    participants: int,
    trials: int,
    items: int,
    participant_sd: float = 0.0,
    item_sd: float = 0.0,
    position_bias: float = 0.0,
    categories: tuple[str, ...] = ("piano",),
    criterion: str = "overall",
    seed: int = 0,
) -> pd.DataFrame:
    """A votes frame (the CSV contract's columns) for one criterion, without a database."""
    rng = np.random.default_rng(seed)
    systems = list(prefs)
    k = len(systems)
    base = np.log(np.array([prefs[s] for s in systems]))
    u = rng.normal(0, participant_sd, (participants, k))
    v = rng.normal(0, item_sd, (items, k))
    p_idx = np.repeat(np.arange(participants), trials)
    i_idx = rng.integers(items, size=participants * trials)
    order = np.argsort(rng.random((len(p_idx), k)), axis=1)  # slot j shows system order[j]
    logits = (base + u[p_idx] + v[i_idx])[np.arange(len(p_idx))[:, None], order]
    logits[:, 0] += position_bias
    probs = choice_probabilities(logits)
    slot = (probs.cumsum(axis=1) > rng.random((len(p_idx), 1))).argmax(axis=1)
    names = np.array(systems)
    slot_systems = ["|".join(row) for row in names[order]]
    category = np.array(categories)[np.arange(items) % len(categories)]
    return pd.DataFrame(
        {
            "study": "sim",
            "participant": p_idx.astype(str),
            "session": p_idx,
            "trial": np.arange(len(p_idx)),
            "trial_index": np.tile(np.arange(trials), participants),
            "item": i_idx.astype(str),
            "category": category[i_idx],
            "criterion": criterion,
            "slot_systems": slot_systems,
            "chosen_slot": slot,
            "chosen_system": names[order[np.arange(len(p_idx)), slot]],
            "is_check": False,
            "check_expected_system": "",
            "played_all": True,
            "rt_ms": 3000,
            "submitted_at": "",
            "n_slots": k,
            "line": np.arange(len(p_idx)) + 2,
        }
    )


def bootstrap_interval(
    frame: pd.DataFrame, systems: list[str], *, b: int, seed: int, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(shares, low, high) of the two-way bootstrap for a simulated frame."""
    part, _ = codes(frame["participant"])
    item, _ = codes(frame["item"])
    index = {s: i for i, s in enumerate(systems)}
    outcome = frame["chosen_system"].map(index).to_numpy()
    boot = pigeonhole(part, item, outcome, len(systems), b=b, seed=seed)
    low, high = percentile_interval(boot, level)
    return np.bincount(outcome, minlength=len(systems)) / len(frame), low, high


def difference_power(
    prefs: dict[str, float],
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
) -> float:
    """Share of simulated studies whose bootstrap interval of p_a - p_c excludes 0."""
    systems = list(prefs)
    ia, ic = systems.index(a), systems.index(c)
    hits = 0
    for r in range(sims):
        frame = simulate_votes(
            prefs,
            participants=participants,
            trials=trials,
            items=items,
            participant_sd=participant_sd,
            item_sd=item_sd,
            seed=seed + r,
        )
        part, _ = codes(frame["participant"])
        item, _ = codes(frame["item"])
        outcome = frame["chosen_system"].map({s: i for i, s in enumerate(systems)}).to_numpy()
        boot = pigeonhole(part, item, outcome, len(systems), b=b, seed=seed + 10_000 + r)
        low, high = percentile_interval((boot[:, ia] - boot[:, ic])[:, None])
        hits += bool(low[0] > 0 or high[0] < 0)
    return hits / sims
