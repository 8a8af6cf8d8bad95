"""Reads about answers: the votes as rows of the votes CSV, progress, the dashboard's data,
and what analysis needs to know of the study."""

from dataclasses import dataclass

from django.db.models import Count, Q

from studies import telemetry
from studies.models import (
    Item,
    Session,
    Study,
    Trial,
    TrialSlot,
    Vote,
)


@dataclass
class StudyProgress:
    sessions_started: int
    sessions_completed: int
    valid_votes_by_criterion: dict[str, int]
    target: int
    # Valid votes per item (each criterion gets one per answered trial): spread and shortfall.
    min_votes_per_item: int
    max_votes_per_item: int
    items_below_target: int
    # Times each system was chosen per item, over all criteria: min and max over the cells.
    min_chosen_item_system: int
    max_chosen_item_system: int
    # Dry runs (simulate_raters), counted in nothing above.
    simulated_sessions: int = 0


def valid_regular_votes(*, study: Study):
    """Votes that count: regular trials of real sessions not excluded."""
    return Vote.objects.filter(
        trial__session__study=study,
        trial__check_kind="",
        trial__session__excluded=False,
        trial__session__simulated=False,
    )


def study_progress(*, study: Study) -> StudyProgress:
    sessions = Session.objects.filter(study=study, simulated=False).aggregate(
        started=Count("id"), completed=Count("id", filter=Q(status=Session.Status.COMPLETED))
    )
    simulated = Session.objects.filter(study=study, simulated=True).count()
    votes = valid_regular_votes(study=study)
    by_criterion = {c.key: 0 for c in study.criteria.all()}
    for row in votes.values("criterion__key").annotate(n=Count("id")):
        by_criterion[row["criterion__key"]] = row["n"]
    chosen = {
        (item_id, system_id): 0
        for item_id in study.items.values_list("id", flat=True)
        for system_id in study.systems.values_list("id", flat=True)
    }
    for row in votes.values("trial__item_id", "slot__system_id").annotate(n=Count("id")):
        chosen[(row["trial__item_id"], row["slot__system_id"])] = row["n"]
    answered = Q(
        trials__check_kind="",
        trials__answered_at__isnull=False,
        trials__session__excluded=False,
        trials__session__simulated=False,
    )
    per_item = list(
        Item.objects.filter(study=study)
        .annotate(n=Count("trials", filter=answered))
        .values_list("n", flat=True)
    )
    return StudyProgress(
        sessions_started=sessions["started"],
        sessions_completed=sessions["completed"],
        valid_votes_by_criterion=by_criterion,
        target=study.target_votes_per_item,
        min_votes_per_item=min(per_item, default=0),
        max_votes_per_item=max(per_item, default=0),
        items_below_target=sum(1 for n in per_item if n < study.target_votes_per_item),
        min_chosen_item_system=min(chosen.values(), default=0),
        max_chosen_item_system=max(chosen.values(), default=0),
        simulated_sessions=simulated,
    )


def study_info(*, study: Study):
    """What analysis needs to know of the study beyond its votes (analysis.study_info)."""
    from studies.analysis.qc import QCSettings
    from studies.analysis.study_info import StudyInfo

    return StudyInfo(
        slug=study.slug,
        systems={s.key: s.name for s in study.systems.order_by("id")},
        criteria=tuple(c.key for c in study.criteria.all()),
        qc=QCSettings(
            study.qc_max_failed_checks,
            study.qc_min_trial_seconds,
            study.qc_max_same_slot_share,
            study.qc_require_played_all,
            min_heard_fraction=study.qc_min_heard_fraction,
            max_hidden_seconds=study.qc_max_hidden_seconds,
            # The delay threshold applies only where the study measures the delay.
            max_av_delay_ms=float(study.max_av_delay_ms if study.latency_check else 0),
        ),
        trials_per_session=study.trials_per_session,
        check_trials_per_session=study.check_trials_per_session,
        roles={s.key: s.role for s in study.systems.all()},
        design=study.design,
    )


def study_vote_rows(*, study: Study, include_simulated: bool = False) -> list[dict]:
    """Every stored vote as a row of the votes CSV (docs/reference/votes-csv.md), check trials
    included (their slots labelled <kind>-target / <kind>-foil-N, kind being noise or sync).
    Dry runs' votes (simulate_raters) only when include_simulated."""
    real = {} if include_simulated else {"trial__session__simulated": False}
    votes = (
        Vote.objects.filter(trial__session__study=study, **real)
        .select_related("trial__session__participant", "trial__item", "criterion", "slot__system")
        .order_by(
            "trial__session_id",
            "trial__index",
            "criterion__order",
            "criterion_id",
            "slot__position",
        )
    )
    slot_rows = (
        TrialSlot.objects.filter(trial__session__study=study, **real)
        .select_related("system", "check_clip")
        .order_by("trial_id", "position")
    )
    labels: dict[int, list[str]] = {}
    for slot in slot_rows:
        names = labels.setdefault(slot.trial_id, [])
        if slot.system_id:
            names.append(slot.system.key)
        elif slot.check_clip.is_target:
            names.append(f"{slot.check_clip.kind}-target")
        else:
            foils = sum("-foil-" in n for n in names)
            names.append(f"{slot.check_clip.kind}-foil-{foils + 1}")
    trials = (
        Trial.objects.filter(
            session__study=study, **({} if include_simulated else {"session__simulated": False})
        )
        .annotate(
            n=Count("slots"),
            n_played=Count("slots", filter=Q(slots__played_to_end_at__isnull=False)),
        )
        .select_related("session")
        .only("pk", "telemetry", "session__av_delay_ms")
    )
    played, telemetry_rows = {}, {}
    for t in trials:  # one query: listening state and telemetry columns per trial
        played[t.pk] = t.n == t.n_played
        telemetry_rows[t.pk] = telemetry.row(t.telemetry, av_delay_ms=t.session.av_delay_ms)
    design = study.design
    rows = []
    for vote in votes:
        trial = vote.trial
        names = labels[trial.pk]
        participant = trial.session.participant
        rows.append(
            {
                "study": study.slug,
                "participant": f"{participant.source}:{participant.external_id}",
                "session": trial.session_id,
                "trial": trial.pk,
                "trial_index": trial.index,
                "item": trial.item.key,
                "category": trial.item.category,
                "criterion": vote.criterion.key,
                "slot_systems": "|".join(names),
                "chosen_slot": vote.slot.position if vote.slot_id else "",
                "chosen_system": names[vote.slot.position] if vote.slot_id else "",
                "is_check": bool(trial.check_kind),
                "check_expected_system": names[trial.expected_slot] if trial.check_kind else "",
                "played_all": played[trial.pk],
                "rt_ms": vote.rt_ms,
                "submitted_at": vote.submitted_at.isoformat(),
                "design": design,
                "score": "" if vote.score is None else _score_text(vote.score),
                **telemetry_rows[trial.pk],
            }
        )
    return rows


def _score_text(score: float) -> str:
    return str(int(score)) if float(score).is_integer() else repr(float(score))


@dataclass
class DashboardData:
    """What a study's dashboard shows (studies.dashboard draws it)."""

    sessions_started: list  # (minute, count) of real sessions
    sessions_completed: list
    votes: list  # (minute, count) of valid votes
    items: list[str]  # item keys, in the study's order
    criteria: list[str]
    votes_per_item_criterion: dict  # (item key, criterion key) -> valid votes
    target: int
    qc: dict | None  # analysis.qc.apply_qc's report on the study's votes, None without votes
    screening: dict  # passed, failed, reasons -> count
    trial_seconds: list[float]  # served -> answered, regular trials of real sessions
    answer_ms: list[float]  # last clip ended -> answer (the QC "too fast" measure)
    generation: object  # the latest generation job, or None
    imports: object  # the latest item import, or None
    shares: dict | None  # criterion -> system name -> valid votes (only when asked for)
    # Rating designs, instead of shares: criterion -> system name -> (ratings, mean score).
    means: dict | None = None


def study_dashboard_data(*, study: Study, interim: bool = False) -> DashboardData:
    from django.db.models.functions import TruncMinute

    from studies.analysis.qc import apply_qc
    from studies.analysis.votes import votes_from_rows

    real = Session.objects.filter(study=study, simulated=False)

    def per_minute(queryset, field):
        rows = (
            queryset.exclude(**{f"{field}__isnull": True})
            .annotate(minute=TruncMinute(field))
            .values("minute")
            .annotate(n=Count("id"))
            .order_by("minute")
        )
        return [(r["minute"], r["n"]) for r in rows]

    votes = valid_regular_votes(study=study)
    items = list(study.items.order_by("category", "id").values_list("key", flat=True))
    criteria = [c.key for c in study.criteria.all()]
    cells = {
        (r["trial__item__key"], r["criterion__key"]): r["n"]
        for r in votes.values("trial__item__key", "criterion__key").annotate(n=Count("id"))
    }
    rows = study_vote_rows(study=study)
    qc = None
    if rows:
        _, qc = apply_qc(votes_from_rows(rows), study_info(study=study).qc)
    screening = {"passed": 0, "failed": 0, "reasons": {}}
    for result in real.exclude(screening={}).values_list("screening", flat=True):
        outcome = result.get("result")
        if outcome is None:
            continue
        screening["passed" if outcome.get("passed") else "failed"] += 1
        for reason in outcome.get("reasons", []):
            screening["reasons"][reason] = screening["reasons"].get(reason, 0) + 1
    answered = Trial.objects.filter(
        session__in=real, check_kind="", answered_at__isnull=False, served_at__isnull=False
    ).values_list("served_at", "answered_at")
    seconds = [(b - a).total_seconds() for a, b in answered]
    shares = means = None
    if interim and study.design in ("rating", "mushra"):
        from django.db.models import Avg

        means = {c: {s.name: (0, None) for s in study.systems.order_by("id")} for c in criteria}
        for r in votes.values("criterion__key", "slot__system__name").annotate(
            n=Count("id"), mean=Avg("score")
        ):
            means[r["criterion__key"]][r["slot__system__name"]] = (r["n"], r["mean"])
    elif interim:
        shares = {c: {s.name: 0 for s in study.systems.order_by("id")} for c in criteria}
        for r in votes.values("criterion__key", "slot__system__name").annotate(n=Count("id")):
            name = r["slot__system__name"] or "No preference"  # a pairwise tie
            shares[r["criterion__key"]][name] = r["n"]
    return DashboardData(
        sessions_started=per_minute(real, "started_at"),
        sessions_completed=per_minute(real.filter(status=Session.Status.COMPLETED), "completed_at"),
        votes=per_minute(votes, "submitted_at"),
        items=items,
        criteria=criteria,
        votes_per_item_criterion=cells,
        target=study.target_votes_per_item,
        qc=qc,
        screening=screening,
        trial_seconds=seconds,
        answer_ms=[v for v in votes.values_list("rt_ms", flat=True) if v is not None],
        generation=study.generation_jobs.order_by("-created_at").first(),
        imports=study.item_imports.order_by("-created_at").first(),
        shares=shares,
        means=means,
    )
