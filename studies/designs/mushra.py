"""`mushra` (ITU-R BS.1534-3): every version of an item on one page, a 0-100 slider each, the
hidden reference (the item's own recording) and at least one anchor (the recording low-passed
at 3.5 kHz) among them in Latin-square slot order. There is no open (labelled) reference: its
bytes would equal the hidden reference's and tell a script which version that is; the page
says one version is the original recording. Post-screening in the analysis: a participant who
rates the hidden reference below 90 on more than 15% of their items is excluded."""

from studies.designs.base import RatedDesign
from studies.models import SystemRole

MUSHRA_LABELS = ((100, "Excellent"), (80, "Good"), (60, "Fair"), (40, "Poor"), (20, "Bad"))
MAX_VERSIONS = 8


class Mushra(RatedDesign):
    key = "mushra"
    label = "MUSHRA"
    template = "studies/answers/mushra.html"
    answer_hint = (
        "Rate every version from 0 to 100. One of them is the original recording; rate what "
        "you hear."
    )
    instructions = (
        "You will watch short videos of a musician. Each video is shown several times with "
        "different versions of its music; one of them is the original recording. Play every "
        "version to the end, then rate each one from 0 (bad) to 100 (excellent) with its slider. "
        "Please wear headphones."
    )
    default_criteria = (("overall", "How good is the music of each version?"),)
    low, high = 0, 100

    def problems(self, study) -> list[str]:
        systems = list(study.systems.all())
        references = [s for s in systems if s.role == SystemRole.REFERENCE]
        anchors = [s for s in systems if s.role == SystemRole.ANCHOR]
        generated = [s for s in systems if s.role == SystemRole.GENERATED]
        problems = []
        if len(references) != 1:
            problems.append(
                "A MUSHRA study needs exactly one reference system (the hidden reference: the "
                f"items' own recordings); this one has {len(references)}."
            )
        if not anchors:
            problems.append(
                "A MUSHRA study needs at least one anchor system (role 'anchor': the recording "
                "low-passed at 3.5 kHz)."
            )
        if not generated:
            problems.append("A MUSHRA study needs at least one generated system.")
        if len(systems) > MAX_VERSIONS:
            problems.append(
                f"A MUSHRA page shows at most {MAX_VERSIONS} versions; this study has "
                f"{len(systems)} systems."
            )
        return problems

    def answer_context(self, *, study, criteria, slots):
        return {"scale": MUSHRA_LABELS}

    def analyze(self, votes, *, qc, b, seed, level, info, objective):
        from studies.analysis.ratings import analyze

        return analyze(votes, qc=qc, b=b, seed=seed, level=level, info=info, design=self.key)

    def write_outputs(self, summary, out):
        from studies.analysis.design_reports import write_ratings

        return write_ratings(summary, out)
