"""A replication package: everything a reader of the paper needs to check and rerun a study's
analysis, in one folder (`manage.py export_study`).

    README.md            what is here and how to rerun the analysis
    study.json           the study's set-up: design, texts, questions, systems (role,
                         checkpoint sha256), session, check, QC and screening settings
    votes.csv            the votes (docs/reference/votes-csv.md), participants pseudonymised
    votes.study.json     the study file `analyze --votes` reads beside the votes
    stimuli.csv          every item x system clip: media sha256, duration, loudness, provenance
    sessions.csv         every session, pseudonymised: status, excluded by review, trials
    qc.csv               the review and quality-control decision per session (approve or
                         reject, paid, votes used, failed checks, reasons)
    analysis/            what `analyze` wrote from these votes (summary.json, tables, figures)
    media/               with --with-media: the stimulus files, named by their sha256

Participants appear as P0001, P0002, ... numbered in the sort order of their recruiter
identities, so that the package's analysis resamples them exactly as the study's own does (the
bootstrap codes participants in sorted order) and reproduces its figures; no recruiter
identity (Prolific or MTurk id, local code) is written anywhere in the package.
"""

import json
import shutil
from pathlib import Path

import pandas as pd

from studies import storage
from studies.models import Clip, Session, Study

README = """# Replication package: {title}

Study `{slug}`, design `{design}`, exported {exported}.

- `study.json`: the study's set-up (design, instructions, questions, systems and their roles and
  checkpoints, trials and checks per session, quality-control and screening settings).
- `votes.csv`: every vote ({n_votes} rows) in the platform's votes format; `votes.study.json`
  beside it says the systems' order and names, the questions and the quality-control settings.
- `stimuli.csv`: every clip ({n_clips}): item, system, sha256 of the file raters received,
  duration, loudness and how it was made.
- `sessions.csv`: every session ({n_sessions}): status, whether review excluded it, trials,
  the audio delay the latency check measured (where the study had one).
- `qc.csv`: the review and quality-control decision per session (approve or reject, paid,
  votes used, failed check trials, the reasons), by the study's rules.
- `analysis/`: the analysis of these votes (`summary.json`, tables, figures, `report.md`).
{media}
**Participants are pseudonymised**: P0001, P0002, ... No recruiter identity (Prolific or
MTurk id, or local code) is in this package.

Rerun the analysis with the platform that ran the study (its `manage.py`):

    python manage.py analyze --votes votes.csv --out reanalysis

It reads `votes.study.json` beside the votes and gives the same `summary.json` as `analysis/`
(up to its `generated_at` time stamp).
"""


def study_config(study: Study) -> dict:
    fields = [
        "title", "slug", "design", "instructions", "consent_text", "trials_per_session",
        "check_trials_per_session", "target_votes_per_item", "allow_no_preference",
        "versions_per_trial", "qc_max_failed_checks", "qc_min_trial_seconds",
        "qc_max_same_slot_share", "qc_require_played_all", "screening", "headphone_trials",
        "headphone_min_correct", "max_skipped_trials", "player", "switch_heard_fraction",
        "latency_check", "max_av_delay_ms", "latency_screen_out", "latency_compensate",
        "qc_min_heard_fraction", "qc_max_hidden_seconds",
    ]  # fmt: skip
    return {
        **{f: getattr(study, f) for f in fields},
        "criteria": [{"key": c.key, "question": c.question} for c in study.criteria.all()],
        "systems": [
            {
                "key": s.key,
                "name": s.name,
                "role": s.role,
                "description": s.description,
                "checkpoint_sha256": s.checkpoint.sha256 if s.checkpoint_id else None,
                "preset": s.checkpoint.preset if s.checkpoint_id else None,
                "step": s.checkpoint.step if s.checkpoint_id else None,
                "sampling": s.sampling,
            }
            for s in study.systems.select_related("checkpoint").order_by("id")
        ],
        "launched_at": study.launched_at.isoformat() if study.launched_at else None,
    }


def pseudonyms(study: Study, *, include_simulated: bool = False) -> dict[str, str]:
    """participant column value (source:external id) -> P0001, ... in the sort order of the
    identities (zero-padded, so the pseudonyms sort the same way)."""
    sessions = Session.objects.filter(study=study).select_related("participant")
    if not include_simulated:
        sessions = sessions.filter(simulated=False)
    ids = sorted({f"{s.participant.source}:{s.participant.external_id}" for s in sessions})
    width = max(4, len(str(len(ids))))
    return {value: f"P{n:0{width}d}" for n, value in enumerate(ids, start=1)}


def export_study(
    *,
    study: Study,
    out: Path,
    with_media: bool = False,
    include_simulated: bool = False,
    bootstrap: int = 2000,
) -> dict:
    """Write the package to `out` (which must not exist or be empty); returns its counts."""
    from datetime import UTC, datetime

    from foley_models.data.dataset import atomic_write_bytes
    from studies.analysis.study_info import sidecar_path, write_study_info
    from studies.analysis.votes import COLUMNS, votes_from_rows, write_votes
    from studies.designs import design_of
    from studies.selectors import study_info, study_vote_rows

    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"{out} exists and is not empty; give a new folder")
    out.mkdir(parents=True, exist_ok=True)
    names = pseudonyms(study, include_simulated=include_simulated)
    rows = study_vote_rows(study=study, include_simulated=include_simulated)
    for row in rows:
        row["participant"] = names[row["participant"]]
    votes_path = write_votes(out / "votes.csv", pd.DataFrame(rows, columns=list(COLUMNS)))
    info = study_info(study=study)
    write_study_info(sidecar_path(votes_path), info)
    atomic_write_bytes(
        out / "study.json", json.dumps(study_config(study), indent=2, default=str).encode()
    )
    stimuli = []
    if with_media:
        (out / "media").mkdir()
    for clip in Clip.objects.filter(item__study=study).select_related("item", "system"):
        digest = storage.sha256_of(clip.media)
        stimuli.append(
            {
                "item": clip.item.key,
                "category": clip.item.category,
                "system": clip.system.key,
                "role": clip.system.role,
                "sha256": digest,
                "bytes": clip.media.size,
                "duration_s": clip.duration_s,
                "loudness_lufs": clip.loudness_lufs,
                "provenance": json.dumps(clip.provenance, sort_keys=True, default=str),
            }
        )
        if with_media:
            with storage.local_copy(clip.media) as path:
                shutil.copyfile(path, out / "media" / f"{digest}.mp4")
    pd.DataFrame(stimuli).to_csv(out / "stimuli.csv", index=False)
    sessions = Session.objects.filter(study=study).select_related("participant")
    if not include_simulated:
        sessions = sessions.filter(simulated=False)
    pd.DataFrame(
        [
            {
                "participant": names[f"{s.participant.source}:{s.participant.external_id}"],
                "source": s.participant.source,
                "status": s.status,
                "excluded": s.excluded,
                "trials": s.n_trials,
                "started_at": s.started_at.isoformat() if s.started_at else "",
                "completed_at": s.completed_at.isoformat() if s.completed_at else "",
                "av_delay_ms": "" if s.av_delay_ms is None else round(s.av_delay_ms, 1),
            }
            for s in sessions.order_by("started_at", "id")
        ],
        columns=["participant", "source", "status", "excluded", "trials", "started_at",
                 "completed_at", "av_delay_ms"],
    ).to_csv(out / "sessions.csv", index=False)  # fmt: skip
    if not include_simulated:
        from studies.services.recruiting import study_decisions

        decisions = study_decisions(study=study)
        qc_rows = [
            {
                "participant": names[key],
                **{k: d[k] for k in ("decision", "pay", "use", "failed_checks", "regular_votes",
                                     "reasons")},
            }
            for key, d in sorted(decisions.items(), key=lambda kv: names.get(kv[0], ""))
            if key in names
        ]  # fmt: skip
        pd.DataFrame(qc_rows).to_csv(out / "qc.csv", index=False)
    if rows:
        design = design_of(study)
        votes = votes_from_rows(rows)
        summary = design.analyze(
            votes, qc=info.qc, b=bootstrap, seed=0, level=0.95, info=info, objective=None
        )
        design.write_outputs(summary, out / "analysis")
    counts = {
        "n_votes": len(rows),
        "n_clips": len(stimuli),
        "n_sessions": len(names),
    }
    media = "- `media/`: the stimulus files, each named by its sha256.\n" if with_media else ""
    text = README.format(
        title=study.title,
        slug=study.slug,
        design=study.design,
        exported=datetime.now(UTC).isoformat(timespec="seconds"),
        media=media,
        **counts,
    )
    atomic_write_bytes(out / "README.md", text.encode())
    return counts
