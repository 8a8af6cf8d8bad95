"""Checks that a file `analyze` (or any report writer) made is what its name says and has
content, not merely that it exists: a figure's magic bytes, size and pixels, a table's rows."""

import csv
from pathlib import Path

MAGIC = {".png": b"\x89PNG\r\n\x1a\n", ".pdf": b"%PDF-"}
# A figure of axes, labels and data is kilobytes; an empty canvas or a truncated file is not,
# and nothing the reports draw needs megabytes.
FIGURE_BYTES = {".png": (8_000, 3_000_000), ".svg": (4_000, 3_000_000), ".pdf": (4_000, 3_000_000)}


def assert_figure(path: Path) -> None:
    data = path.read_bytes()
    low, high = FIGURE_BYTES[path.suffix]
    assert low <= len(data) <= high, f"{path.name}: {len(data)} bytes, expected {low}-{high}"
    if path.suffix == ".svg":
        head = data[:400].decode("utf-8", "replace")
        assert head.startswith("<?xml") and "<svg" in data.decode("utf-8", "replace"), path.name
        assert data.rstrip().endswith(b"</svg>"), f"{path.name} is truncated"
        return
    assert data.startswith(MAGIC[path.suffix]), f"{path.name} is not a {path.suffix} file"
    if path.suffix == ".pdf":
        assert b"%%EOF" in data[-64:], f"{path.name} is truncated"
        return
    from PIL import Image

    with Image.open(path) as image:
        image.load()
        width, height = image.size
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert width >= 300 and height >= 200, f"{path.name} is {width}x{height}"
    assert colours is None or len(colours) >= 16, f"{path.name} is nearly blank"


def assert_table(path: Path, *, min_rows: int = 1) -> list[dict]:
    """A CSV with a header and at least min_rows rows; returns the rows."""
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert reader.fieldnames, f"{path.name} has no header"
    assert len(rows) >= min_rows, f"{path.name}: {len(rows)} rows, expected {min_rows} or more"
    assert all(None not in row for row in rows), f"{path.name}: a row longer than its header"
    return rows


def assert_output(path: Path) -> None:
    """Dispatch on the file's kind."""
    if path.suffix in FIGURE_BYTES:
        assert_figure(path)
    elif path.suffix == ".csv":
        assert_table(path, min_rows=0 if path.stem == "exclusions" else 1)
    elif path.suffix == ".tex":
        text = path.read_text()
        assert "\\begin{tabular}" in text and "\\end{tabular}" in text, path.name
    elif path.suffix == ".md":
        assert path.read_text().startswith("#"), path.name
    else:
        assert path.stat().st_size > 0, path.name
