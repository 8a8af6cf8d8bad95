"""The analyses of the designs other than best_of, against independent computations (scipy,
statsmodels, choix) on fixed data, and their intervals' coverage on clustered simulations."""

import choix
import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from studies.analysis import pairwise, ratings, real_or_generated
from studies.analysis.qc import QCSettings
from studies.analysis.simulate_designs import population_values, simulate_design_votes
from studies.analysis.study_info import StudyInfo

QC = QCSettings(min_trial_seconds=0.0)
QUALITY = {"ref": 0.0, "fm": -0.4, "wn": -1.5, "gan": -2.0}
SCORES = {"ref": 4.4, "fm": 3.5, "wn": 2.5, "gan": 2.1}


def _info(systems, roles=None, design="best_of"):
    return StudyInfo(
        slug="s", systems={s: s.upper() for s in systems}, criteria=("overall",), qc=QC,
        trials_per_session=10, roles=roles or {}, design=design,
    )  # fmt: skip


# --- real_or_generated -----------------------------------------------------------------------


def test_real_or_generated_shares_and_tests_match_direct_counts():
    frame = simulate_design_votes(
        "real_or_generated", QUALITY, participants=20, trials=12, items=16,
        participant_sd=0.4, item_sd=0.4, reference="ref", seed=3,
    )  # fmt: skip
    summary = real_or_generated.analyze(frame, qc=QC, b=400, seed=0)
    assert summary["reference"] == "ref" and set(summary["generated"]) == {"fm", "wn", "gan"}
    for system, est in summary["criteria"]["overall"]["all"].items():
        shown = frame[frame["slot_systems"].str.contains(system)]
        k = int((shown["chosen_system"] == system).sum())
        assert est["n"] == len(shown) and est["judged_real"] == pytest.approx(k / len(shown))
        assert est["p_binomial_naive"] == pytest.approx(stats.binomtest(k, len(shown)).pvalue)
        assert est["ci_low"] <= est["judged_real"] <= est["ci_high"]
    # The clustered interval is wider than the naive Wilson one.
    est = summary["criteria"]["overall"]["all"]["fm"]
    assert est["ci_high"] - est["ci_low"] > est["wilson_high"] - est["wilson_low"]


def test_real_or_generated_with_one_generated_system_needs_the_study_file():
    frame = simulate_design_votes(
        "real_or_generated", {"ref": 0.0, "fm": -0.5}, participants=6, trials=4, items=4,
        reference="ref", seed=1,
    )  # fmt: skip
    with pytest.raises(ValueError, match="cannot tell which system is the reference"):
        real_or_generated.analyze(frame, qc=QC, b=100)
    info = _info(["ref", "fm"], roles={"ref": "reference"})
    summary = real_or_generated.analyze(frame, qc=QC, b=100, info=info)
    assert list(summary["criteria"]["overall"]["all"]) == ["fm"]


# --- pairwise ---------------------------------------------------------------------------------


def _choix_strengths(frame, systems, *, ties_as_both=False):
    index = {s: i for i, s in enumerate(systems)}
    data = []
    for slots, chosen in zip(frame["slot_systems"], frame["chosen_slot"], strict=True):
        a, b = (index[s] for s in slots.split("|"))
        if chosen == -1:
            data += [(a, b), (b, a)]  # half a win each, doubled below with everything else
        else:
            w, loser = (a, b) if chosen == 0 else (b, a)
            data += [(w, loser)] * (2 if ties_as_both else 1)
    params = choix.ilsr_pairwise(len(systems), data, alpha=0.0, max_iter=10_000, tol=1e-12)
    return params - params.mean()


def test_bradley_terry_strengths_match_choix():
    frame = simulate_design_votes("pairwise", QUALITY, participants=25, trials=12, items=10, seed=5)
    summary = pairwise.analyze(frame, qc=QC, b=200, seed=0, info=_info(list(QUALITY)))
    est = summary["criteria"]["overall"]["all"]
    ours = np.array([est["bradley_terry"][s]["strength"] for s in QUALITY])
    assert ours.mean() == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(ours, _choix_strengths(frame, list(QUALITY)), atol=2e-3)
    # Win rates are the direct counts.
    ab = frame[frame["slot_systems"].isin(["fm|wn", "wn|fm"])]
    fm_wins = (ab["chosen_system"] == "fm").sum()
    assert est["win_rate"]["fm"]["wn"] == pytest.approx(fm_wins / len(ab))
    assert est["win_rate"]["wn"]["fm"] == pytest.approx(1 - fm_wins / len(ab))
    ps = [p["p"] for p in est["pairs"]]
    np.testing.assert_allclose(
        [p["p_holm"] for p in est["pairs"]], multipletests(ps, method="holm")[1]
    )


def test_no_preference_counts_half_a_win_for_each():
    frame = simulate_design_votes(
        "pairwise", QUALITY, participants=25, trials=12, items=10, tie_rate=0.2, seed=6
    )
    assert (frame["chosen_slot"] == -1).sum() > 30
    summary = pairwise.analyze(frame, qc=QC, b=100, seed=0, info=_info(list(QUALITY)))
    est = summary["criteria"]["overall"]["all"]
    ours = np.array([est["bradley_terry"][s]["strength"] for s in QUALITY])
    np.testing.assert_allclose(
        ours, _choix_strengths(frame, list(QUALITY), ties_as_both=True), atol=2e-3
    )
    assert est["ties"] == int((frame["chosen_slot"] == -1).sum())
    rate = est["win_rate"]
    assert rate["fm"]["wn"] + rate["wn"]["fm"] == pytest.approx(1.0)


def test_a_system_that_never_wins_gets_a_finite_strength():
    wins = np.array([[0, 10, 8], [0, 0, 5], [2, 5, 0]], dtype=float)  # system 1 loses to 0
    s = pairwise.bradley_terry(wins)
    assert np.isfinite(s).all() and s[0] > s[2]


# --- rating and MUSHRA ----------------------------------------------------------------------


def test_mean_opinion_scores_match_direct_means_and_the_mixed_model_recovers_them():
    frame = simulate_design_votes(
        "rating", SCORES, participants=20, trials=6, items=12,
        participant_sd=0.3, item_sd=0.3, seed=8,
    )  # fmt: skip
    summary = ratings.analyze(frame, qc=QC, b=300, seed=0, info=_info(list(SCORES)))
    est = summary["criteria"]["overall"]["all"]
    means = frame.groupby("chosen_system")["score"].mean()
    for s in SCORES:
        assert est[s]["mean"] == pytest.approx(means[s])
        assert est[s]["n"] == int((frame["chosen_system"] == s).sum())
        assert est[s]["ci_low"] < est[s]["mean"] < est[s]["ci_high"]
    mm = summary["mixed_model"]["overall"]
    assert mm["converged"]
    # Every trial rates every system, so the system effects are orthogonal to the participant
    # and item effects: the mixed model's differences between systems are the raw differences
    # exactly. Its means share one shift from the raw means (items are rated unequally often,
    # so the random effects weight the grand mean), small beside the effects.
    for p in mm["pairs"]:
        assert p["difference"] == pytest.approx(means[p["a"]] - means[p["b"]], abs=1e-6)
    shifts = [mm["means"][s]["mean"] - means[s] for s in SCORES]
    assert np.ptp(shifts) < 1e-6 and abs(shifts[0]) < 0.05
    ps = [p["p"] for p in mm["pairs"]]
    np.testing.assert_allclose(
        [p["p_holm"] for p in mm["pairs"]], multipletests(ps, method="holm")[1]
    )
    fm_gan = next(p for p in mm["pairs"] if {p["a"], p["b"]} == {"fm", "gan"})
    assert fm_gan["p_holm"] < 1e-6


def test_mushra_post_screening_excludes_who_rates_the_hidden_reference_below_90():
    quality = {"ref": 96.0, "fm": 60.0, "low": 25.0}
    frame = simulate_design_votes(
        "mushra", quality, participants=10, trials=10, items=10, noise_sd=2.0, seed=9
    )
    # Participant 3 rates the reference 70 on 2 of their 10 trials (20% > 15%); participant 4
    # on 1 of 10 (10%: kept).
    for participant, n_low in (("3", 2), ("4", 1)):
        rows = frame.index[
            (frame["participant"] == participant) & (frame["chosen_system"] == "ref")
        ]
        frame.loc[rows[:n_low], "score"] = 70.0
    info = _info(list(quality), roles={"ref": "reference", "low": "anchor"}, design="mushra")
    summary = ratings.analyze(frame, qc=QC, b=200, seed=0, info=info, design="mushra")
    screening = summary["post_screening"]
    assert screening["excluded"] == ["3"] and screening["participants_screened"] == 10
    kept = frame[frame["participant"] != "3"]
    for s in quality:
        expected = kept.loc[kept["chosen_system"] == s, "score"].mean()
        assert summary["criteria"]["overall"]["all"][s]["mean"] == pytest.approx(expected)
    with pytest.raises(ValueError, match="needs to know the hidden reference"):
        ratings.analyze(frame, qc=QC, b=100, design="mushra")


# --- coverage -----------------------------------------------------------------------------


@pytest.mark.parametrize("design", ["real_or_generated", "pairwise", "rating"])
def test_intervals_cover_the_population_value_under_clustering(design):
    quality = SCORES if design == "rating" else QUALITY
    kw = dict(participant_sd=0.5, item_sd=0.5)
    truth = population_values(design, quality, reference="ref", **kw)
    hits = []
    for r in range(30):
        frame = simulate_design_votes(
            design, quality, participants=30, trials=10, items=24, reference="ref",
            seed=500 + r, **kw,
        )  # fmt: skip
        if design == "real_or_generated":
            est = real_or_generated.analyze(frame, qc=QC, b=250, seed=r)
        elif design == "pairwise":
            est = pairwise.analyze(frame, qc=QC, b=250, seed=r)
        else:
            est = ratings.analyze(frame, qc=QC, b=250, seed=r, mixed=False)
        est = est["criteria"]["overall"]["all"]
        for system, value in truth.items():
            e = est["bradley_terry"][system] if design == "pairwise" else est[system]
            hits.append(e["ci_low"] <= value <= e["ci_high"])
    coverage = float(np.mean(hits))
    assert 0.88 <= coverage, coverage


def test_a_rating_check_passes_only_when_the_target_is_scored_above_every_foil():
    from studies.analysis.qc import check_failures

    def rows(session, trial, target, foils):
        base = dict(session=session, trial=trial, criterion="noise", is_check=True,
                    check_expected_system="noise-target", design="rating")  # fmt: skip
        out = [dict(base, chosen_system="noise-target", score=target)]
        out += [dict(base, chosen_system=f"noise-foil-{k}", score=s) for k, s in enumerate(foils)]
        return out

    import pandas as pd

    frame = pd.DataFrame(
        rows("1", "a", 5, [2, 1]) + rows("2", "b", 3, [3, 1]) + rows("3", "c", 2, [4, 1])
    )
    failures = check_failures(frame)
    assert failures.to_dict() == {"1": 0, "2": 1, "3": 1}
    # The same rows as a choice design would have them: scored on the chosen system instead.
    assert check_failures(frame.assign(design="best_of")).to_dict() == {"1": 1, "2": 1, "3": 1}
