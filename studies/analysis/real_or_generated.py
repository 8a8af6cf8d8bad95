"""`real_or_generated`: per generated system, the share of its trials in which its version was
judged the original (50% is indistinguishable from the recording), with a two-way cluster
bootstrap interval and the bootstrap test against 50% (the interval's dual), and beside them
the naive Wilson interval and exact binomial test (votes taken as independent)."""

from datetime import UTC, datetime

import numpy as np

from studies.analysis.bootstrap import percentile_interval, two_sided_p, weighted_counts
from studies.analysis.estimates import binom_test_two_sided, wilson
from studies.analysis.prepare import checklist_of, prepare, scopes, settings_of


def reference_of(prep, info) -> str:
    """The reference system: the study file's, else the one system every trial shows."""
    if info is not None:
        refs = [k for k in prep.systems if info.role(k) == "reference"]
        if len(refs) == 1:
            return refs[0]
    common = set(prep.systems)
    for slots in prep.slots:
        common &= set(slots)
    if len(common) != 1:
        raise ValueError(
            "cannot tell which system is the reference (the original recording): give the "
            "study file (export_votes writes it beside the votes) or analyse the study"
        )
    return common.pop()


def analyze(votes, *, qc, b: int = 2000, seed: int = 0, level: float = 0.95, info=None) -> dict:
    prep = prepare(votes, qc=qc, info=info, b=b, seed=seed)
    reference = reference_of(prep, info)
    generated = [s for s in prep.systems if s != reference]
    index = {s: g for g, s in enumerate(generated)}
    # Per kept row: which generated system the trial shows, and whether it was judged real.
    shown = np.array([index[next(s for s in slots if s != reference)] for slots in prep.slots])
    judged = (prep.kept["chosen_system"].to_numpy() != reference).astype(np.int64)
    first = np.array([slots[0] == reference for slots in prep.slots])
    g = len(generated)
    summary: dict = {"criteria": {}}
    for criterion in prep.criteria:
        for scope, mask in scopes(prep, criterion):
            if not mask.any():
                continue
            counts = weighted_counts(
                prep.reps, prep.part[mask], prep.item[mask], shown[mask] * 2 + judged[mask], 2 * g
            ).reshape(-1, g, 2)
            totals = counts.sum(axis=2)
            out = {}
            for s, name in enumerate(generated):
                rows = mask & (shown == s)
                n, k = int(rows.sum()), int(judged[rows].sum())
                if n == 0:
                    continue
                ok = totals[:, s] > 0
                boot = counts[ok, s, 1] / totals[ok, s]
                low, high = percentile_interval(boot, level)
                w_low, w_high = wilson(k, n, level)
                out[name] = {
                    "n": n,
                    "judged_real": k / n,
                    "ci_low": float(low),
                    "ci_high": float(high),
                    "p_vs_half": float(two_sided_p(boot, 0.5)),
                    "wilson_low": w_low,
                    "wilson_high": w_high,
                    "p_binomial_naive": binom_test_two_sided(k, n, 0.5),
                    "items": int(prep.kept["item"][rows].nunique()),
                    "participants": int(prep.kept["participant"][rows].nunique()),
                }
            summary["criteria"].setdefault(criterion, {})[scope] = out
    on_first = prep.kept["criterion"].to_numpy() == prep.criteria[0]
    picked_first = prep.kept["chosen_slot"].to_numpy()[on_first] == 0
    summary.update(
        design="real_or_generated",
        systems=prep.systems,
        generated=generated,
        reference=reference,
        names=prep.names,
        study=info.slug if info is not None else None,
        categories=prep.categories,
        exclusions=prep.exclusions,
        order={
            "reference_first_share": float(first[on_first].mean()),
            "first_slot_chosen_share": float(picked_first.mean()),
        },
        settings=settings_of(b, seed, level, qc),
        checklist={
            **checklist_of(prep),
            "interval_method": f"two-way cluster bootstrap, B = {b}, percentile, seed {seed}",
            "test": "bootstrap test of judged_real = 0.5 (dual of the interval); exact "
            "binomial beside it, as if votes were independent",
            "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    return summary
