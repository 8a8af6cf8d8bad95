"""Point estimates, Wilson intervals and tests equal scipy/statsmodels computed independently."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from studies.analysis import estimates
from studies.analysis.bootstrap import pigeonhole
from studies.analysis.qc import QCSettings, apply_qc
from studies.analysis.simulate import simulate_votes

PREFS = {"foley_music": 0.4, "wavenet": 0.25, "samplernn": 0.2, "gan": 0.15}


def test_shares_wilson_and_chance_tests_match_scipy_and_statsmodels():
    frame = simulate_votes(PREFS, participants=30, trials=10, items=20, seed=1)
    systems = list(PREFS)
    est = estimates.criterion_estimates(frame, systems, b=300, seed=0)
    counts = frame["chosen_system"].value_counts()
    n = len(frame)
    assert est["n"] == n == 300
    for s in systems:
        v = est["systems"][s]
        k = int(counts.get(s, 0))
        assert v["n"] == k and v["share"] == pytest.approx(k / n)
        low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert (v["wilson_low"], v["wilson_high"]) == pytest.approx((low, high))
        assert v["p_vs_chance_naive"] == pytest.approx(stats.binomtest(k, n, 0.25).pvalue)
        assert v["ci_low"] <= v["share"] <= v["ci_high"]
    chi = stats.chisquare([int(counts.get(s, 0)) for s in systems])
    assert est["omnibus"]["chi2_naive"] == pytest.approx(chi.statistic)
    assert est["omnibus"]["p_naive"] == pytest.approx(chi.pvalue)
    assert len(est["pairwise"]) == 6
    # Plackett-Luce top-1 (choix) with complete choice sets: strengths = centred log shares.
    logs = np.log([counts[s] / n for s in systems])
    assert [est["strengths"][s]["strength"] for s in systems] == pytest.approx(
        logs - logs.mean(), abs=1e-3
    )


def test_holm_and_bh_match_statsmodels():
    p = [0.01, 0.04, 0.03, 0.2, 0.002, 0.5]
    assert estimates.holm(p) == pytest.approx(multipletests(p, method="holm")[1].tolist())
    assert estimates.benjamini_hochberg(p) == pytest.approx(
        multipletests(p, method="fdr_bh")[1].tolist()
    )


def test_sign_flip_p_is_exact_for_few_items_and_agrees_with_scipy_for_many():
    d = np.array([3.0, 1.0, 2.0, -1.0, 4.0])
    # Exact: enumerate 32 sign patterns by hand.
    patterns = np.array([[1 if (i >> j) & 1 else -1 for j in range(5)] for i in range(32)])
    expected = np.mean(np.abs(patterns @ d) >= abs(d.sum()))
    assert estimates.sign_flip_p(d) == pytest.approx(expected)
    rng = np.random.default_rng(0)
    many = rng.normal(0.3, 1, 40)
    ours = estimates.sign_flip_p(many, seed=1)
    theirs = stats.permutation_test(
        (many,), np.mean, permutation_type="samples", n_resamples=9999, random_state=2
    ).pvalue
    assert ours == pytest.approx(theirs, abs=0.02)


def test_krippendorff_alpha_is_high_for_unanimous_items_and_low_for_random():
    unanimous = np.array([[5, 0, 0, 0], [0, 5, 0, 0], [0, 0, 5, 0], [0, 0, 0, 5]], float)
    assert estimates.agreement(unanimous) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    noisy = rng.multinomial(8, [0.25] * 4, size=30).astype(float)
    assert abs(estimates.agreement(noisy)) < 0.1


def test_pigeonhole_bootstrap_is_seeded_and_sums_to_one():
    frame = simulate_votes(PREFS, participants=10, trials=5, items=8, seed=2)
    part = frame["participant"].astype(int).to_numpy()
    item = frame["item"].astype(int).to_numpy()
    outcome = frame["chosen_system"].map({s: i for i, s in enumerate(PREFS)}).to_numpy()
    a = pigeonhole(part, item, outcome, 4, b=50, seed=3)
    b = pigeonhole(part, item, outcome, 4, b=50, seed=3)
    assert np.array_equal(a, b) and a.shape == (50, 4)
    assert np.allclose(a.sum(axis=1), 1.0)


def test_position_bias_is_found_and_flags_the_slot_a_clicker():
    frame = simulate_votes(PREFS, participants=20, trials=20, items=10, position_bias=1.5, seed=4)
    lazy = frame["participant"] == "0"
    frame.loc[lazy, "chosen_slot"] = 0
    frame.loc[lazy, "chosen_system"] = frame.loc[lazy, "slot_systems"].str.split("|").str[0]
    result = estimates.position_bias(frame, b=200, seed=0)
    assert result["slots"]["A"]["ci_low"] > 0.25
    assert "0" in [f["participant"] for f in result["flagged_participants"]]


def test_quality_control_reports_each_rule_and_drops_check_trials():
    frame = simulate_votes(PREFS, participants=6, trials=10, items=5, seed=5)
    frame.loc[frame.index[:3], "played_all"] = False
    frame.loc[frame.index[3:5], "rt_ms"] = 100
    check = frame.iloc[[0]].copy()
    check["is_check"] = True
    check["criterion"] = "noise"
    check["slot_systems"] = "noise-target|noise-foil-1|noise-foil-2|noise-foil-3"
    check["check_expected_system"] = "noise-target"
    check["chosen_slot"] = 1
    check["chosen_system"] = "noise-foil-1"
    votes = pd.concat([frame, check, check.assign(trial=999)], ignore_index=True)
    kept, report = apply_qc(votes, QCSettings(max_failed_checks=1, min_trial_seconds=1.0))
    assert report["check_votes"] == 2 and not kept["is_check"].any()
    assert report["rules"]["not_played"]["votes"] == 3
    assert report["rules"]["too_fast"]["votes"] == 2
    assert report["rules"]["failed_checks"]["sessions"] == 1  # two failed checks > 1
    assert report["votes_kept"] == len(kept) == 60 - 10  # session 0's 10 votes all gone


def test_naive_tests_and_wilson_match_scipy_and_statsmodels_over_many_cases():
    """Our scipy.special versions (no scipy.stats / statsmodels import at analysis time)."""
    rng = np.random.default_rng(0)
    for _ in range(600):
        n = int(rng.choice([1, 2, 3, 5, 10, 37, 100, 1000, 25_000, 250_000]))
        p = float(rng.choice([0.5, 0.25, 1 / 3, 0.2, 1 / 6]))
        if rng.random() < 0.5:
            k = int(rng.integers(0, n + 1))
        else:  # near the mode, where the two tails meet
            k = int(np.clip(round(rng.normal(n * p, 2 * np.sqrt(n * p * (1 - p)))), 0, n))
        theirs = stats.binomtest(k, n, p).pvalue
        assert estimates.binom_test_two_sided(k, n, p) == pytest.approx(theirs, rel=1e-6)
        assert float(estimates.binom_sf(k - 1, n, p)) == pytest.approx(
            stats.binom.sf(k - 1, n, p), rel=1e-9, abs=1e-300
        )
        assert estimates.wilson(k, n, 0.95) == pytest.approx(
            proportion_confint(k, n, alpha=0.05, method="wilson"), rel=1e-12, abs=1e-15
        )
    counts = rng.integers(0, 100, 5)
    assert estimates.chisquare(counts) == pytest.approx(tuple(stats.chisquare(counts)))
    assert estimates.chi2_sf(7.3, 3) == pytest.approx(stats.chi2.sf(7.3, 3))


def test_strengths_closed_form_for_complete_sets_and_choix_fit_otherwise():
    import choix

    frame = simulate_votes(PREFS, participants=20, trials=10, items=10, seed=6)
    systems = list(PREFS)
    boot = np.full((10, 4), 0.25)
    complete = estimates.strengths(frame, systems, boot, 0.95)
    data = [
        [systems.index(c), [systems.index(s) for s in o.split("|") if s != c]]
        for c, o in zip(frame["chosen_system"], frame["slot_systems"], strict=True)
    ]
    fitted = choix.ilsr_top1(4, data, alpha=1e-6)
    fitted -= fitted.mean()
    assert [complete[s]["strength"] for s in systems] == pytest.approx(fitted, abs=1e-4)
    pairs = frame.assign(
        slot_systems=frame["slot_systems"].str.split("|").str[:2].str.join("|"), n_slots=2
    )
    pairs = pairs[pairs.apply(lambda r: r["chosen_system"] in r["slot_systems"], axis=1)]
    partial = estimates.strengths(pairs, systems, boot, 0.95)
    data = [
        [systems.index(c), [systems.index(s) for s in o.split("|") if s != c]]
        for c, o in zip(pairs["chosen_system"], pairs["slot_systems"], strict=True)
    ]
    fitted = choix.ilsr_top1(4, data, alpha=1e-6)
    assert [partial[s]["strength"] for s in systems] == pytest.approx(
        fitted - fitted.mean(), abs=1e-9
    )


def test_pairwise_tests_agree_with_their_intervals():
    frame = simulate_votes(
        PREFS, participants=40, trials=12, items=24, participant_sd=0.6, item_sd=0.6, seed=7
    )
    est = estimates.criterion_estimates(frame, list(PREFS), b=1000, seed=0)
    floor = 2 / 1001
    for pair in est["pairwise"]:
        excludes_zero = pair["ci_low"] > 0 or pair["ci_high"] < 0
        assert pair["p_min"] == pytest.approx(floor)
        if pair["p"] < 0.05:
            assert excludes_zero, pair
        if excludes_zero:
            assert pair["p"] <= 0.05 + floor, pair
    assert any(p["p"] < 0.05 for p in est["pairwise"])
    assert est["pairwise"][0]["p_sign_flip_min"] == pytest.approx(1 / 10_000)
    assert estimates.sign_flip_floor(2) == 0.5 and estimates.sign_flip_floor(5) == 2 / 32


def test_position_bias_is_screened_at_the_session_length_or_says_it_cannot_be():
    frame = simulate_votes(PREFS, participants=20, trials=8, items=10, seed=8)
    lazy = frame["participant"] == "0"
    frame.loc[lazy, "chosen_slot"] = 0
    result = estimates.position_bias(frame, b=100, seed=0, min_trials=8)
    assert result["participants_tested"] == 20 and result["note"] is None
    assert [f["participant"] for f in result["flagged_participants"]] == ["0"]
    short = estimates.position_bias(frame, b=100, seed=0, min_trials=2)
    assert short["note"].startswith("not screened: with 2 answers")


def test_the_telemetry_rules_of_quality_control():
    """not_heard and tab_hidden drop trials, av_delay drops only the synchronization votes of
    raters above the threshold; rows without the measure are never dropped by it; the rules
    appear in the report only when switched on."""
    frame = simulate_votes(PREFS, participants=4, trials=5, items=5, seed=7)
    frame["criterion"] = np.where(frame.index % 2 == 0, "synchronization", "overall")
    frame["heard_min_fraction"] = "1"
    frame["hidden_s"] = "0"
    frame["av_delay_ms"] = ""
    sessions = sorted(frame["session"].unique())
    first_trial = frame["trial"] == frame["trial"].iloc[0]
    frame.loc[first_trial, "heard_min_fraction"] = "0.5"
    frame.loc[frame.index[-1], "hidden_s"] = "45"
    late = frame["session"] == sessions[1]
    frame.loc[late, "av_delay_ms"] = "240"
    frame.loc[frame["session"] == sessions[2], "av_delay_ms"] = "40"
    _, off = apply_qc(frame, QCSettings(min_trial_seconds=0.0))
    assert {"not_heard", "tab_hidden", "av_delay"}.isdisjoint(off["rules"])
    settings = QCSettings(
        min_trial_seconds=0.0, min_heard_fraction=0.9, max_hidden_seconds=30, max_av_delay_ms=150
    )
    kept, report = apply_qc(frame, settings)
    assert report["rules"]["not_heard"]["votes"] == int(first_trial.sum())
    assert report["rules"]["tab_hidden"]["votes"] == 1
    sync_of_late = late & (frame["criterion"] == "synchronization")
    assert report["rules"]["av_delay"]["votes"] == int(sync_of_late.sum()) > 0
    assert report["rules"]["av_delay"]["sessions"] == 1
    late_kept = kept[kept["session"] == sessions[1]]
    assert set(late_kept["criterion"]) == {"overall"}
