"""Study designs, one module each; everything else dispatches through `design_of`."""

from studies.designs.base import Design
from studies.designs.best_of import BestOf
from studies.designs.mushra import Mushra
from studies.designs.pairwise import Pairwise
from studies.designs.rating import Rating
from studies.designs.real_or_generated import RealOrGenerated

DESIGNS: dict[str, Design] = {
    d.key: d for d in (BestOf(), RealOrGenerated(), Pairwise(), Rating(), Mushra())
}


def design_named(key: str) -> Design:
    if key not in DESIGNS:
        raise ValueError(f"unknown design {key!r}; known: {', '.join(DESIGNS)}")
    return DESIGNS[key]


def design_of(study) -> Design:
    return design_named(study.design)


__all__ = ["DESIGNS", "Design", "design_named", "design_of"]
