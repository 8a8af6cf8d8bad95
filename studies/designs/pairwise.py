"""`pairwise`: two systems' versions of one video and a forced choice per criterion (optionally
"no preference", half a win each). Per item, every pair of systems comes equally often
(within one) and each order equally often over every two cycles, so each system is first as
often as second."""

from itertools import combinations

from studies.designs.base import Design, balanced_flip, item_base_order
from studies.models import DEFAULT_CRITERIA, SystemRole


class Pairwise(Design):
    key = "pairwise"
    label = "Pairwise"
    answer_hint = "For each question, choose the better of the two versions."
    instructions = (
        "You will watch short videos of a musician. Each video is shown twice with different "
        "music. Play both versions to the end, then answer each question by choosing the better "
        "version. Please wear headphones."
    )
    default_criteria = DEFAULT_CRITERIA
    ties = True

    def systems(self, study) -> list:
        return [s for s in study.systems.order_by("id") if s.role != SystemRole.ANCHOR]

    def n_versions(self, study) -> int:
        return 2

    def slot_order(self, *, item, systems: list, row: int) -> list:
        pairs = list(combinations(item_base_order(item.pk, systems), 2))
        first, second = pairs[row % len(pairs)]
        return [second, first] if balanced_flip(row, len(pairs)) else [first, second]

    def answer_context(self, *, study, criteria, slots):
        return {"no_preference": study.allow_no_preference}

    def analyze(self, votes, *, qc, b, seed, level, info, objective):
        from studies.analysis.pairwise import analyze

        return analyze(votes, qc=qc, b=b, seed=seed, level=level, info=info)

    def write_outputs(self, summary, out):
        from studies.analysis.design_reports import write_pairwise

        return write_pairwise(summary, out)
