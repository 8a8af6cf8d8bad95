"""`real_or_generated` (Zhou et al. 2018, Visual to Sound): two copies of one video, one with
the item's own recording (the reference system) and one with a generated soundtrack; "Which
video has the original sound?". Per item, the generated systems take turns and the reference
comes first in half of each system's trials (balanced_flip)."""

from studies.designs.base import Design, balanced_flip, item_base_order
from studies.models import SystemRole

QUESTION = "Which video has the original sound?"


class RealOrGenerated(Design):
    key = "real_or_generated"
    label = "Real or generated"
    answer_hint = "One of the two versions has the sound that was recorded with the video."
    instructions = (
        "You will watch short videos of a musician. Each video is shown twice: once with the "
        "sound that was recorded with it, once with music made by a computer. Play both versions "
        "to the end, then say which one has the original sound. Please wear headphones."
    )
    default_criteria = (("real", QUESTION),)

    def systems(self, study) -> list:
        return [s for s in study.systems.order_by("id") if s.role != SystemRole.ANCHOR]

    def n_versions(self, study) -> int:
        return 2

    def slot_order(self, *, item, systems: list, row: int) -> list:
        reference = [s for s in systems if s.role == SystemRole.REFERENCE][0]
        generated = item_base_order(item.pk, [s for s in systems if s is not reference])
        system = generated[row % len(generated)]
        return [system, reference] if balanced_flip(row, len(generated)) else [reference, system]

    def problems(self, study) -> list[str]:
        systems = list(study.systems.all())
        references = [s for s in systems if s.role == SystemRole.REFERENCE]
        generated = [s for s in systems if s.role == SystemRole.GENERATED]
        problems = []
        if len(references) != 1:
            problems.append(
                "A real-or-generated study needs exactly one reference system (role "
                f"'reference': the items' own recordings); this one has {len(references)}."
            )
        if not generated:
            problems.append("A real-or-generated study needs at least one generated system.")
        anchors = [s.key for s in systems if s.role == SystemRole.ANCHOR]
        if anchors:
            problems.append(f"Anchor systems ({', '.join(anchors)}) belong to MUSHRA studies.")
        return problems

    def analyze(self, votes, *, qc, b, seed, level, info, objective):
        from studies.analysis.real_or_generated import analyze

        return analyze(votes, qc=qc, b=b, seed=seed, level=level, info=info)

    def write_outputs(self, summary, out):
        from studies.analysis.design_reports import write_real_or_generated

        return write_real_or_generated(summary, out)
