"""Every version of an item (its systems' clips and its check clips) is served at one byte length.

Generated clips already come out the same size (constant-bitrate audio, the same video stream;
see foley_models.render.ffmpeg.STIMULUS_AUDIO). Whatever still differs (an uploaded clip, a
different encoder) is padded: a top-level ISO BMFF `free` box at the end of the MP4, which every
player and ffprobe skip, brings each file to the size of the item's largest version. Files are
rewritten through a temporary file and a rename, so a reader never sees half a file.
"""

import os
import struct
import tempfile
from pathlib import Path

from studies.models import Item

FREE_HEADER = 8  # a box is at least size (4 bytes) + type (4 bytes)
# Every version gets this modification time: a web server's Last-Modified and ETag (nginx's is
# mtime-size) would otherwise tell the order in which the systems' clips were made.
FIXED_MTIME = 946_684_800  # 2000-01-01T00:00:00Z


def fix_mtime(path: Path) -> None:
    os.utime(path, (FIXED_MTIME, FIXED_MTIME))


def _trailing_free(path: Path) -> int:
    """Bytes of a `free` box that ends the file exactly (0 if none): padding we added before."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        offset = 0
        while offset + FREE_HEADER <= size:
            handle.seek(offset)
            box_size, box_type = struct.unpack(">I4s", handle.read(FREE_HEADER))
            if box_size == 1:  # 64-bit size follows
                box_size = struct.unpack(">Q", handle.read(8))[0]
            elif box_size == 0:  # the box runs to the end of the file
                box_size = size - offset
            if box_size < FREE_HEADER:
                return 0
            if offset + box_size == size:
                return box_size if box_type == b"free" else 0
            offset += box_size
    return 0


def pad_to(path: Path, size: int) -> None:
    """Make the MP4 at `path` exactly `size` bytes by a trailing `free` box (atomic rewrite)."""
    path = Path(path)
    current = path.stat().st_size
    if current == size:
        return
    existing = _trailing_free(path)
    content = current - existing
    extra = size - content
    if extra < FREE_HEADER or extra >= 2**32:
        raise ValueError(f"cannot pad {path.name} from {content} to {size} bytes")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".partial-", suffix=path.suffix)
    try:
        with os.fdopen(fd, "wb") as out, path.open("rb") as src:
            remaining = content
            while remaining:
                chunk = src.read(min(1 << 20, remaining))
                if not chunk:
                    raise ValueError(f"{path.name} changed while it was being padded")
                out.write(chunk)
                remaining -= len(chunk)
            out.write(struct.pack(">I4s", extra, b"free"))
            out.write(b"\0" * (extra - FREE_HEADER))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _versions(item: Item) -> list:
    return [c.media for c in item.clips.all()] + [c.media for c in item.check_clips.all()]


def _local_path(field_file) -> Path | None:
    try:
        return Path(field_file.path)
    except (ValueError, NotImplementedError):
        return None


def item_version_sizes(item: Item) -> dict[str, int]:
    """Stored name -> byte length of every version of the item whose file exists."""
    sizes = {}
    for field_file in _versions(item):
        path = _local_path(field_file)
        if path is not None and path.is_file():
            sizes[field_file.name] = path.stat().st_size
    return sizes


def item_versions_equalize(item: Item) -> int:
    """Pad every version of the item to the size of its largest; returns the files padded."""
    paths = [p for p in (_local_path(f) for f in _versions(item)) if p and p.is_file()]
    for path in paths:
        fix_mtime(path)
    if len(paths) < 2:
        return 0
    sizes = {p: p.stat().st_size for p in paths}
    content = {p: sizes[p] - _trailing_free(p) for p in paths}
    target = max(sizes.values())
    # A box has a header: a file short of the target by 1-7 bytes needs a larger target.
    if any(0 < target - content[p] < FREE_HEADER for p in paths):
        target = max(content.values()) + FREE_HEADER
    padded = 0
    for path in paths:
        if sizes[path] != target:
            pad_to(path, target)
            fix_mtime(path)
            padded += 1
    return padded


def upload_prepare(row) -> None:
    """A clip or check clip uploaded by hand: its audio re-encoded in place like generated
    clips (CBR MP3, video copied, metadata stripped) and its duration read from the file, so
    its size says nothing about its content. Raises FFmpegError for a file ffmpeg cannot read."""
    from foley_models.render import ffmpeg

    path = _local_path(row.media)
    if path is None:
        return
    tmp = path.with_name(f".upload-{path.name}")
    ffmpeg.reencode_audio(path, tmp)
    os.replace(tmp, path)
    row.duration_s = ffmpeg.duration_s(path)
    row.save(update_fields=["duration_s"])
