"""Synthetic raters who complete real sessions through the platform's own services (dry runs).

Each simulated rater arrives as a local participant, consents, plays every clip (playback events
with the clips' real durations) and answers with the choice model of studies.analysis.simulate;
on check trials an attentive rater picks the expected slot for the checked criterion. Their
sessions are marked simulated: allocation balances them among themselves, exports and analysis
leave them out unless asked (--include-simulated), and delete_simulated removes them.
"""

from datetime import timedelta

import numpy as np
from django.utils import timezone

from studies import services
from studies.analysis.simulate import choice_probabilities
from studies.models import CHECK_CRITERION_KEY, Study


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
) -> int:
    """Run `participants` complete sessions; returns how many trials were answered."""
    rng = np.random.default_rng(seed)
    keys = [s.key for s in study.systems.order_by("id")]
    base = {k: np.log(preferences[k]) for k in keys}
    item_effects: dict[int, dict[str, float]] = {}
    criteria = list(study.criteria.values_list("key", flat=True))
    answered = 0
    clock = timezone.now()
    for n in range(participants):
        effects = {k: rng.normal(0, participant_sd) for k in keys}
        session = services.session_start(
            study=study, source="local", external_id=f"sim-{seed}-{n}", simulated=True
        )
        services.session_consent(session=session)
        while True:
            trial = services.session_current_trial(session=session, now=clock)
            if trial is None:
                break
            slots = list(trial.slots.select_related("system").order_by("position"))
            for slot in slots:
                services.playback_record(
                    session=session,
                    trial_index=trial.index,
                    position=slot.position,
                    kind="play",
                    now=clock,
                )
                clock += timedelta(seconds=slot.duration_s + 0.2)
                services.playback_record(
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
                    if checked and rng.random() < attentive:
                        choices[key] = trial.expected_slot
                    else:
                        choices[key] = int(rng.integers(len(slots)))
                    continue
                item = item_effects.setdefault(
                    trial.item_id, {k: rng.normal(0, item_sd) for k in keys}
                )
                logits = np.array(
                    [base[s.system.key] + effects[s.system.key] + item[s.system.key] for s in slots]
                )
                logits[0] += position_bias
                p = choice_probabilities(logits)
                choices[key] = int(rng.choice(len(slots), p=p))
            services.trial_answer(
                session=session, trial_index=trial.index, choices=choices, now=clock
            )
            answered += 1
        if progress:
            progress(n + 1, participants)
    return answered
