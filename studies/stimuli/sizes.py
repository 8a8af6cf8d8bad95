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
from contextlib import ExitStack
from pathlib import Path

from studies import storage
from studies.models import Item

FREE_HEADER = 8  # a box is at least size (4 bytes) + type (4 bytes)


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


def item_version_sizes(item: Item) -> dict[str, int]:
    """Stored name -> byte length of every version of the item whose file exists."""
    return {f.name: storage.size(f) for f in _versions(item) if storage.exists(f)}


def item_versions_equalize(item: Item) -> int:
    """Pad every version of the item to the size of its largest and hide when each was made
    (storage.stamp); returns the files padded. Works on local disk and in a bucket."""
    files = [f for f in _versions(item) if storage.exists(f)]
    padded = 0
    # Sizes first (a HEAD request in a bucket): files are fetched only when one must be padded.
    if len({storage.size(f) for f in files}) > 1:
        with tempfile.TemporaryDirectory(prefix="equalize-") as work, ExitStack() as stack:
            local = {f.name: stack.enter_context(storage.local_copy(f, Path(work))) for f in files}
            sizes = {name: p.stat().st_size for name, p in local.items()}
            content = {name: sizes[name] - _trailing_free(p) for name, p in local.items()}
            target = max(sizes.values())
            # A box has a header: a file short of the target by 1-7 bytes needs a larger target.
            if any(0 < target - content[n] < FREE_HEADER for n in local):
                target = max(content.values()) + FREE_HEADER
            for field_file in files:
                path = local[field_file.name]
                if sizes[field_file.name] != target:
                    pad_to(path, target)
                    if storage.local_path(field_file) is None:
                        storage.replace_content(field_file, path)
                    padded += 1
    storage.stamp(files)
    return padded


def upload_prepare(row) -> None:
    """A clip or check clip uploaded by hand: its audio re-encoded like generated clips (CBR
    MP3, video copied, metadata stripped) and its duration read from the file, so its size says
    nothing about its content. Raises FFmpegError for a file ffmpeg cannot read."""
    from foley_models.render import ffmpeg

    with tempfile.TemporaryDirectory(prefix="upload-") as work:
        with storage.local_copy(row.media, Path(work)) as path:
            tmp = Path(work) / f"reencoded{path.suffix}"
            ffmpeg.reencode_audio(path, tmp)
            row.duration_s = ffmpeg.duration_s(tmp)
            storage.replace_content(row.media, tmp)
    row.save(update_fields=["duration_s"])
