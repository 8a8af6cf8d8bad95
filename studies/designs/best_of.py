"""`best_of`, the Foley Music study's design: the same video once per system (2-6), a forced
choice per criterion; slot order from a cyclic Latin square per item."""

from studies.designs.base import Design
from studies.models import DEFAULT_CRITERIA


class BestOf(Design):
    key = "best_of"
    label = "Best of N"
    default_criteria = DEFAULT_CRITERIA

    def analyze(self, votes, *, qc, b, seed, level, info, objective):
        from studies.analysis.report import analyze

        summary = analyze(votes, qc=qc, b=b, seed=seed, level=level, info=info, objective=objective)
        return {**summary, "design": self.key}

    def write_outputs(self, summary, out):
        from studies.analysis.report import write_outputs

        return write_outputs(summary, out)
