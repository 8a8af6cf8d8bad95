"""`dataset stats`: minutes per instrument and split, notes per second, keypoint dropout rate."""

from collections import defaultdict
from pathlib import Path

from foley_models.data.dataset import load_midi, load_pose, read_index
from foley_models.data.layouts import get_layout, valid_mask


def dataset_stats(root: Path) -> list[dict]:
    """One row per (instrument, split) plus a total row."""
    root = Path(root)
    acc = defaultdict(
        lambda: {
            "performances": 0,
            "seconds": 0.0,
            "notes": 0,
            "midi_seconds": 0.0,
            "points": 0,
            "missing": 0,
        }
    )
    for p in read_index(root):
        for key in ((p.instrument, p.split), ("all", "all")):
            row = acc[key]
            row["performances"] += 1
            row["seconds"] += p.duration_s
        pose = load_pose(root, p)
        mask = valid_mask(pose, get_layout(p.layout))
        notes = 0
        if p.midi:
            pm = load_midi(root / p.midi)
            notes = sum(len(i.notes) for i in pm.instruments if not i.is_drum)
        for key in ((p.instrument, p.split), ("all", "all")):
            row = acc[key]
            row["points"] += mask.size
            row["missing"] += int((~mask).sum())
            if p.midi:
                row["notes"] += notes
                row["midi_seconds"] += p.duration_s
    rows = []
    for (instrument, split), r in sorted(
        acc.items(), key=lambda kv: (kv[0] == ("all", "all"), kv[0])
    ):
        rows.append(
            {
                "instrument": instrument,
                "split": split,
                "performances": r["performances"],
                "minutes": round(r["seconds"] / 60, 2),
                "notes_per_s": round(r["notes"] / r["midi_seconds"], 2)
                if r["midi_seconds"]
                else None,
                "dropout_rate": round(r["missing"] / r["points"], 4) if r["points"] else None,
            }
        )
    return rows


def format_table(rows: list[dict]) -> str:
    headers = list(rows[0]) if rows else []
    widths = [max(len(h), *(len(str(r[h])) for r in rows)) for h in headers]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    for r in rows:
        lines.append("  ".join(str(r[h]).ljust(w) for h, w in zip(headers, widths, strict=True)))
    return "\n".join(lines)
