"""What every study design provides; studies.designs.design_of picks the study's.

A design owns what differs between designs: which systems its trials draw on and how their
versions are balanced over items and slots, the answer part of the trial page, how an answer
is parsed, checked and stored as votes, the launch checks, and its analysis entry point. Views,
services, admin, commands and `analyze` hold no design logic; they dispatch through here, the
way foley_models.models.registry dispatches on a system key.
"""

import random
from dataclasses import dataclass

from studies.errors import AnswerRejected
from studies.forms import InputError
from studies.models import MAX_SYSTEMS, MIN_SYSTEMS, SLOT_LABELS, SystemRole

# An answer as parsed from the page: choice designs give criterion -> slot position (None: no
# preference); rating designs give criterion -> {slot position: score}.
Answer = dict


@dataclass(frozen=True)
class VoteRow:
    criterion_key: str
    position: int | None  # the chosen or rated slot; None: no preference
    score: float | None = None


def item_base_order(item_pk: int, systems: list) -> list:
    """A fixed per-item permutation, so slot A is not always the same system's first row."""
    base = list(systems)
    random.Random(f"item-base:{item_pk}").shuffle(base)
    return base


def latin_square_row(base: list, row: int) -> list:
    """Row `row` of the cyclic Latin square whose first row is `base`."""
    k = len(base)
    return [base[(row + j) % k] for j in range(k)]


def balanced_flip(row: int, period: int) -> bool:
    """Whether row `row` of a cycle of `period` combinations shows them in reverse order: over
    2 x period rows each combination comes once in each order, and in any prefix the two
    orders differ in count by at most one (for an even period the parity steps once per
    cycle so that each combination meets both)."""
    shift = row // period if period % 2 == 0 else 0
    return (row + shift) % 2 == 1


class Design:
    key = ""
    label = ""
    rated = False  # one score per (version, criterion) rather than one choice per criterion
    template = "studies/answers/choice.html"
    # The page's instruction line above the answers.
    answer_hint = "For each question, choose one version."
    # What the consent page tells the rater to do; None: the study model's default (best_of's).
    instructions: str | None = None
    # (key, question) pairs a new study of this design gets when none are given.
    default_criteria: tuple[tuple[str, str], ...] = ()
    ties = False  # the page may offer "no preference" (where the study allows it)

    # --- which versions a trial shows -------------------------------------------------------

    def systems(self, study) -> list:
        """The systems whose clips the design's trials draw on (stable order)."""
        return list(study.systems.order_by("id"))

    def n_versions(self, study) -> int:
        """Versions on one trial page (check trials show as many)."""
        return len(self.systems(study))

    def slot_order(self, *, item, systems: list, row: int) -> list:
        """The systems in slot order for the `row`-th trial (0-based) that shows `item`."""
        return latin_square_row(item_base_order(item.pk, systems), row)

    # --- launch -----------------------------------------------------------------------------

    def problems(self, study) -> list[str]:
        """What stops a study of this design from launching (beyond clips and criteria)."""
        systems = list(study.systems.all())
        problems = []
        if not MIN_SYSTEMS <= len(systems) <= MAX_SYSTEMS:
            problems.append(
                f"A study compares {MIN_SYSTEMS} to {MAX_SYSTEMS} systems; this one has "
                f"{len(systems)}."
            )
        anchors = [s.key for s in systems if s.role == SystemRole.ANCHOR]
        if anchors:
            problems.append(
                f"Anchor systems ({', '.join(anchors)}) belong to MUSHRA studies; this study's "
                f"design is {self.key}."
            )
        return problems

    # --- answers ----------------------------------------------------------------------------

    def answer_context(self, *, study, criteria: list, slots: list[dict]) -> dict:
        """What the answer template needs beside the criteria and slots."""
        return {}

    def parse(self, post, criterion_keys: list[str], n_slots: int) -> Answer:
        """The answer in the POST; errors name the field. Missing answers are left to
        `vote_rows` (it names them)."""
        valid = list(SLOT_LABELS[:n_slots])
        answer: Answer = {}
        for name, value in post.items():
            if name == "csrfmiddlewaretoken":
                continue
            if name not in criterion_keys:
                raise InputError(f"Unknown field {name!r} in the answer.")
            if value == "=" and self.ties:
                answer[name] = None  # no preference; vote_rows checks the study allows it
                continue
            if value not in valid:
                raise InputError(f"The answer to {name!r} is not one of this trial's videos.")
            answer[name] = valid.index(value)
        return answer

    def vote_rows(self, *, study, answer: Answer, criterion_keys: list[str], n_slots: int):
        """The votes an answer stores, one per criterion; AnswerRejected names what is wrong."""
        missing = [key for key in criterion_keys if key not in answer]
        unknown = [key for key in answer if key not in criterion_keys]
        if missing:
            raise AnswerRejected(
                "Please answer every question (missing: " + ", ".join(missing) + ")."
            )
        if unknown:
            raise AnswerRejected("Unknown question: " + ", ".join(unknown) + ".")
        rows = []
        for key in criterion_keys:
            position = answer[key]
            if position is None and not study.allow_no_preference:
                raise AnswerRejected(f"The answer to {key!r} must name a version.")
            if position is not None and not 0 <= position < n_slots:
                raise AnswerRejected(f"The answer to {key!r} is not one of this trial's videos.")
            rows.append(VoteRow(key, position))
        return rows

    def stored(self, votes) -> Answer:
        """The answer the stored votes make (a repeated submit returns it)."""
        return {v.criterion.key: (v.slot.position if v.slot_id else None) for v in votes}

    def labels(self, answer: Answer) -> dict:
        """The stored answer as the page shows it (slot letters), for the JSON reply."""
        return {k: (SLOT_LABELS[p] if p is not None else "=") for k, p in answer.items()}

    # --- analysis ---------------------------------------------------------------------------

    def analyze(self, votes, *, qc, b: int, seed: int, level: float, info, objective):
        raise NotImplementedError

    def write_outputs(self, summary: dict, out) -> list:
        raise NotImplementedError


class RatedDesign(Design):
    """Designs that score every version: fields `<criterion>:<slot letter>` = score."""

    rated = True
    low, high = 1, 5

    def parse(self, post, criterion_keys: list[str], n_slots: int) -> Answer:
        valid = list(SLOT_LABELS[:n_slots])
        answer: Answer = {}
        for name, value in post.items():
            if name == "csrfmiddlewaretoken":
                continue
            key, _, label = name.partition(":")
            if key not in criterion_keys or label not in valid:
                raise InputError(f"Unknown field {name!r} in the answer.")
            try:
                score = float(value)
            except ValueError:
                raise InputError(f"The score {name!r} must be a number.") from None
            if not (self.low <= score <= self.high) or score != int(score):
                raise InputError(
                    f"The score {name!r} must be a whole number from {self.low} to {self.high}."
                )
            answer.setdefault(key, {})[valid.index(label)] = score
        return answer

    def vote_rows(self, *, study, answer: Answer, criterion_keys: list[str], n_slots: int):
        unknown = [key for key in answer if key not in criterion_keys]
        if unknown:
            raise AnswerRejected("Unknown question: " + ", ".join(unknown) + ".")
        missing = [
            f"{key} {SLOT_LABELS[p]}"
            for key in criterion_keys
            for p in range(n_slots)
            if p not in answer.get(key, {})
        ]
        if missing:
            raise AnswerRejected(
                "Please rate every version on every question (missing: " + ", ".join(missing) + ")."
            )
        rows = []
        for key in criterion_keys:
            for position, score in sorted(answer[key].items()):
                if not 0 <= position < n_slots or not self.low <= score <= self.high:
                    raise AnswerRejected(f"The score for {key!r} is out of range.")
                rows.append(VoteRow(key, position, float(score)))
        return rows

    def stored(self, votes) -> Answer:
        answer: Answer = {}
        for v in votes:
            answer.setdefault(v.criterion.key, {})[v.slot.position] = v.score
        return answer

    def labels(self, answer: Answer) -> dict:
        return {k: {SLOT_LABELS[p]: s for p, s in scores.items()} for k, scores in answer.items()}
