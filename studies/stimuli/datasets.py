"""Dataset folders (a folder with index.csv: docs/reference/dataset-folder.md) as the admin
offers and checks them."""

from pathlib import Path

from django.conf import settings

from foley_models.data import dataset
from studies.errors import StudyError


def dataset_folders() -> list[Path]:
    """Dataset folders (with an index.csv) at most two levels below DATASETS_DIR."""
    root = Path(settings.DATASETS_DIR)
    if not root.is_dir():
        return []
    found = {p.parent for p in root.glob("index.csv")}
    found |= {p.parent for p in root.glob("*/index.csv")}
    found |= {p.parent for p in root.glob("*/*/index.csv")}
    return sorted(found)


def dataset_check(data_dir: str | Path, *, need_splits: tuple[str, ...] = ()) -> list:
    """The dataset's performances, or StudyError naming what is wrong with the folder."""
    root = Path(data_dir)
    try:
        performances = dataset.read_index(root)
    except dataset.DatasetError as exc:
        raise StudyError(str(exc)) from None
    have = {p.split for p in performances}
    lacking = [s for s in need_splits if s not in have]
    if lacking:
        raise StudyError(
            f"{root}: no performance in split {', '.join(lacking)} "
            f"(it has {', '.join(sorted(have))})"
        )
    return performances
