"""Which item a new trial shows and in which slot order.

- Regular trials take an item among those with the fewest valid plus in-progress votes (an
  unanswered trial whose lease has not expired is in progress), preferring items this session has
  not seen yet; ties are broken by a random draw seeded by the session and trial index.
- Which systems a trial shows, and in which slot order, is the study design's
  (studies.designs): the n-th time an item is shown it uses row n of the design's balanced
  scheme. For best_of that is row n mod k of a cyclic Latin square built on an item-specific
  base order, so every system appears equally often in every slot (within one, counted over
  allocated trials); pairwise cycles through the pairs, real_or_generated through the generated
  systems, each in both orders.
- Check trials use the item's check material: the target in a random slot, foils in the others.
  Their kinds rotate from a per-session random start, so with one check per session half the
  sessions get a noise check and half a sync check. A check never shows an item that is one of
  the session's regular items (and regular trials avoid the session's check items).
- A skipped trial (its video would not load) holds no lease: its item goes back to allocation.

Callers hold a transaction; the per-item counter is incremented with an UPDATE so concurrent
allocations never reuse a row of the square.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, F, Q

from studies.designs import design_of
from studies.designs.base import item_base_order as _base_order
from studies.designs.base import latin_square_row
from studies.models import (
    CHECK_CRITERION_KEY,
    CheckClip,
    CheckKind,
    Clip,
    Criterion,
    Item,
    Session,
    System,
    Trial,
    TrialSlot,
)


def session_rng(session: Session, index: int) -> random.Random:
    return random.Random(f"{session.pk}:{index}")


def item_base_order(item: Item, systems: list[System]) -> list[System]:
    """A fixed per-item permutation, so slot A is not always the same system's first row."""
    return _base_order(item.pk, systems)


__all__ = ["latin_square_row", "item_base_order", "allocate_trial", "item_loads"]


def available_check_kinds(study) -> list[str]:
    """Check kinds the study can run: its criterion exists and some item has target + foil."""
    if design_of(study).n_versions(study) < 2:
        return []  # a check trial needs a target and a foil on one page
    criterion_keys = set(study.criteria.values_list("key", flat=True))
    kinds = []
    for kind in CheckKind.values:
        if CHECK_CRITERION_KEY[kind] not in criterion_keys:
            continue
        if _items_with_check_material(study, kind).exists():
            kinds.append(kind)
    return kinds


def _items_with_check_material(study, kind: str):
    return (
        Item.objects.filter(study=study)
        .annotate(
            n_target=Count(
                "check_clips", filter=Q(check_clips__kind=kind, check_clips__is_target=True)
            ),
            n_foil=Count(
                "check_clips", filter=Q(check_clips__kind=kind, check_clips__is_target=False)
            ),
        )
        .filter(n_target__gte=1, n_foil__gte=1)
    )


def plan_checks(study, n_regular: int, rng: random.Random) -> list[int]:
    """Trial indices (never the first) at which this session's check trials come."""
    n_checks = study.check_trials_per_session if available_check_kinds(study) else 0
    total = n_regular + n_checks
    return sorted(rng.sample(range(1, total), n_checks)) if n_checks else []


@dataclass(frozen=True)
class ItemLoad:
    item_id: int
    valid: int
    in_progress: int

    @property
    def load(self) -> int:
        return self.valid + self.in_progress


def item_loads(study, now: datetime, *, simulated: bool = False) -> dict[int, ItemLoad]:
    """Valid answered regular trials and live leases per item of the study, counting real
    sessions' trials (simulated: the dry runs' own, so a dry run never uses up real places)."""
    regular = Q(trials__check_kind="", trials__session__simulated=simulated)
    valid = regular & Q(trials__answered_at__isnull=False, trials__session__excluded=False)
    leased = regular & Q(
        trials__answered_at__isnull=True,
        trials__skipped_at__isnull=True,
        trials__lease_expires_at__gt=now,
    )
    rows = Item.objects.filter(study=study).annotate(
        n_valid=Count("trials", filter=valid), n_leased=Count("trials", filter=leased)
    )
    return {row.pk: ItemLoad(row.pk, row.n_valid, row.n_leased) for row in rows}


def allocate_trial(*, session: Session, index: int, now: datetime) -> Trial:
    study = session.study
    rng = session_rng(session, index)
    lease = now + timedelta(minutes=study.lease_minutes)
    if index in session.check_indices:
        kinds = available_check_kinds(study)
        if kinds:
            # A per-session random start, then rotation: every kind is equally likely first.
            first = session_rng(session, -2).randrange(len(kinds))
            kind = kinds[(first + session.check_indices.index(index)) % len(kinds)]
            return _allocate_check(
                session=session, index=index, kind=kind, lease=lease, now=now, rng=rng
            )
    return _allocate_regular(session=session, index=index, lease=lease, now=now, rng=rng)


def _allocate_regular(*, session, index, lease, now, rng) -> Trial:
    study = session.study
    loads = item_loads(study, now, simulated=session.simulated)
    # Items already shown in this session, as regular or as check trials.
    seen = set(session.trials.values_list("item_id", flat=True))
    unseen = [pk for pk in loads if pk not in seen]
    pool = unseen or list(loads)
    lowest = min(loads[pk].load for pk in pool)
    item_id = rng.choice(sorted(pk for pk in pool if loads[pk].load == lowest))

    Item.objects.filter(pk=item_id).update(times_allocated=F("times_allocated") + 1)
    item = Item.objects.select_related("study").get(pk=item_id)
    design = design_of(study)
    order = design.slot_order(
        item=item, systems=design.systems(study), row=item.times_allocated - 1
    )
    clips = {clip.system_id: clip for clip in Clip.objects.filter(item=item)}

    trial = Trial.objects.create(
        session=session, index=index, item=item, lease_expires_at=lease, served_at=now
    )
    TrialSlot.objects.bulk_create(
        TrialSlot(trial=trial, position=pos, system=system, clip=clips[system.pk])
        for pos, system in enumerate(order)
    )
    return trial


def _allocate_check(*, session, index, kind, lease, now, rng) -> Trial:
    study = session.study
    n_slots = design_of(study).n_versions(study)
    candidates = list(_items_with_check_material(study, kind).order_by("id"))
    shown = session.trials.values_list("item_id", flat=True)
    regular = set(shown.filter(check_kind=""))
    previous = set(shown.filter(index=index - 1))
    # Not one of the session's regular items; failing that (a study with very few items), at
    # least not the item of the trial just before.
    pool = (
        [i for i in candidates if i.pk not in regular]
        or [i for i in candidates if i.pk not in previous]
        or candidates
    )
    item = rng.choice(pool)
    material = list(CheckClip.objects.filter(item=item, kind=kind).order_by("id"))
    target = rng.choice([c for c in material if c.is_target])
    foils = [c for c in material if not c.is_target]
    rng.shuffle(foils)
    expected = rng.randrange(n_slots)
    criterion = Criterion.objects.get(study=study, key=CHECK_CRITERION_KEY[kind])

    trial = Trial.objects.create(
        session=session,
        index=index,
        item=item,
        check_kind=kind,
        check_criterion=criterion,
        expected_slot=expected,
        lease_expires_at=lease,
        served_at=now,
    )
    slots, foil_i = [], 0
    for pos in range(n_slots):
        if pos == expected:
            clip = target
        else:
            clip, foil_i = foils[foil_i % len(foils)], foil_i + 1
        slots.append(TrialSlot(trial=trial, position=pos, check_clip=clip))
    TrialSlot.objects.bulk_create(slots)
    return trial
