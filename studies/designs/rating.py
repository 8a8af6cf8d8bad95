"""`rating`: absolute category rating on the ITU-T P.808 5-point scale, one score per version
and criterion. A trial shows `versions_per_trial` versions (0: every system's); the versions
are the first k of the item's Latin-square row, so every system is rated equally often per
item and appears equally often in each slot."""

from studies.designs.base import RatedDesign, item_base_order, latin_square_row
from studies.models import MAX_SYSTEMS, SystemRole

ACR_LABELS = ((5, "Excellent"), (4, "Good"), (3, "Fair"), (2, "Poor"), (1, "Bad"))

RATING_CRITERIA = (
    ("correctness", "How well does the music fit what the musician is playing?"),
    ("noise", "How free of noise and distortion is the music?"),
    ("synchronization", "How well is the music in time with the musician's movements?"),
    ("overall", "Overall, how good is the music?"),
)


class Rating(RatedDesign):
    key = "rating"
    label = "Rating (ACR)"
    template = "studies/answers/rating.html"
    answer_hint = "Rate every version on every question."
    instructions = (
        "You will watch short videos of a musician with music. Play every version on the page to "
        "the end, then rate each one on every question from 1 (bad) to 5 (excellent). Please wear "
        "headphones."
    )
    default_criteria = RATING_CRITERIA
    low, high = 1, 5

    def systems(self, study) -> list:
        return [s for s in study.systems.order_by("id") if s.role != SystemRole.ANCHOR]

    def n_versions(self, study) -> int:
        n = len(self.systems(study))
        return min(study.versions_per_trial or n, n)

    def slot_order(self, *, item, systems: list, row: int) -> list:
        k = min(item.study.versions_per_trial or len(systems), len(systems))
        return latin_square_row(item_base_order(item.pk, systems), row)[:k]

    def problems(self, study) -> list[str]:
        problems = super().problems(study)
        n = len(self.systems(study))
        if study.versions_per_trial > n:
            problems.append(
                f"Versions per trial is {study.versions_per_trial} but the study has {n} systems."
            )
        if n > MAX_SYSTEMS:
            problems.append(f"A rating study rates at most {MAX_SYSTEMS} systems.")
        return problems

    def answer_context(self, *, study, criteria, slots):
        return {"scale": ACR_LABELS}

    def analyze(self, votes, *, qc, b, seed, level, info, objective):
        from studies.analysis.ratings import analyze

        return analyze(votes, qc=qc, b=b, seed=seed, level=level, info=info, design=self.key)

    def write_outputs(self, summary, out):
        from studies.analysis.design_reports import write_ratings

        return write_ratings(summary, out)
