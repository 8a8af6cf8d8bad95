"""Synthetic raters who complete real sessions through the platform's own services (dry runs).

Each simulated rater arrives as a local participant, consents, plays every clip (playback events
with the clips' real durations) and answers as the study's design asks: in the choice designs
(best_of, pairwise, real_or_generated) with the choice model of studies.analysis.simulate over
the versions shown; in the rating designs with a score per version, the system's mean score
plus participant, item and rating noise, rounded and clipped to the scale. On check trials an
attentive rater picks the expected slot (or scores it highest) for the checked criterion. Their
sessions are marked simulated: allocation balances them among themselves, exports and analysis
leave them out unless asked (--include-simulated), and delete_simulated removes them.
"""

from datetime import timedelta

import numpy as np
from django.utils import timezone

from studies.analysis.simulate import choice_probabilities
from studies.designs import design_of
from studies.models import CHECK_CRITERION_KEY, Study
from studies.services.answers import trial_answer
from studies.services.playback import playback_record
from studies.services.sessions import session_consent, session_current_trial, session_start


def simulate_raters(
    *,
    study: Study,
    participants: int,
    preferences: dict[str, float],
    participant_sd: float = 0.0,
    item_sd: float = 0.0,
    position_bias: float = 0.0,
    attentive: float = 0.97,
    seed: int = 0,
    progress=None,
    rating_sd: float | None = None,
) -> int:
    """Run `participants` complete sessions; returns how many trials were answered.

    preferences: choice designs, shares (log-preference per system); rating designs, each
    system's mean score on the design's scale. rating_sd: the rating noise (default 0.8 on
    the 1-5 scale, 10 on 0-100)."""
    rng = np.random.default_rng(seed)
    design = design_of(study)
    keys = [s.key for s in study.systems.order_by("id")]
    if design.rated:
        base = {k: float(preferences[k]) for k in keys}
        noise = rating_sd if rating_sd is not None else (0.8 if design.high <= 5 else 10.0)
    else:
        base = {k: np.log(preferences[k]) for k in keys}
    item_effects: dict[int, dict[str, float]] = {}
    criteria = list(study.criteria.values_list("key", flat=True))
    answered = 0
    clock = timezone.now()
    for n in range(participants):
        effects = {k: rng.normal(0, participant_sd) for k in keys}
        session = session_start(
            study=study, source="local", external_id=f"sim-{seed}-{n}", simulated=True
        )
        session_consent(session=session)
        while True:
            trial = session_current_trial(session=session, now=clock)
            if trial is None:
                break
            slots = list(trial.slots.select_related("system").order_by("position"))
            for slot in slots:
                playback_record(
                    session=session,
                    trial_index=trial.index,
                    position=slot.position,
                    kind="play",
                    now=clock,
                )
                clock += timedelta(seconds=slot.duration_s + 0.2)
                playback_record(
                    session=session,
                    trial_index=trial.index,
                    position=slot.position,
                    kind="ended",
                    now=clock,
                )
            clock += timedelta(seconds=float(rng.uniform(2, 8)))
            choices = {}
            for key in criteria:
                if trial.check_kind:
                    checked = key == CHECK_CRITERION_KEY[trial.check_kind]
                    choices[key] = _check_answer(
                        design, rng, len(slots), trial.expected_slot, checked and
                        rng.random() < attentive,
                    )  # fmt: skip
                    continue
                item = item_effects.setdefault(
                    trial.item_id, {k: rng.normal(0, item_sd) for k in keys}
                )
                values = np.array(
                    [base[s.system.key] + effects[s.system.key] + item[s.system.key] for s in slots]
                )
                if design.rated:
                    scores = np.clip(
                        np.round(values + rng.normal(0, noise, len(slots))), design.low, design.high
                    )
                    choices[key] = {pos: float(v) for pos, v in enumerate(scores)}
                    continue
                values[0] += position_bias
                p = choice_probabilities(values)
                choices[key] = int(rng.choice(len(slots), p=p))
            trial_answer(session=session, trial_index=trial.index, choices=choices, now=clock)
            answered += 1
        if progress:
            progress(n + 1, participants)
    return answered


def _check_answer(design, rng, n_slots: int, expected: int, attentive: bool):
    if not design.rated:
        return expected if attentive else int(rng.integers(n_slots))
    if attentive:
        low = design.low + (design.high - design.low) * 0.2
        return {p: float(design.high if p == expected else round(low)) for p in range(n_slots)}
    return {p: float(rng.integers(design.low, design.high + 1)) for p in range(n_slots)}
