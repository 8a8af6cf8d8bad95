"""Where stimulus files live: local disk (the default) or an S3-compatible bucket
(STORAGE_BACKEND=s3, django-storages with boto3).

Everything that reads or rewrites a stored file goes through here, so the rest of the code does
not care which backend holds it. Stored names are random (`studies.models._random_name`), so no
key names a system, item or check; participants and staff get short-lived presigned URLs.
"""

import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import FileSystemStorage, default_storage

# Local files all get this modification time: a web server's Last-Modified and ETag (nginx's is
# mtime-size) would otherwise tell the order in which the systems' clips were made.
FIXED_MTIME = 946_684_800  # 2000-01-01T00:00:00Z


def is_local(storage=None) -> bool:
    return isinstance(storage or default_storage, FileSystemStorage)


def local_path(field_file) -> Path | None:
    """The file's path on this machine's disk, or None where the backend has no paths."""
    if not field_file or not is_local(field_file.storage):
        return None
    return Path(field_file.path)


def exists(field_file) -> bool:
    return bool(field_file) and field_file.storage.exists(field_file.name)


def size(field_file) -> int:
    return field_file.storage.size(field_file.name)


@contextmanager
def local_copy(field_file, work: Path | None = None) -> Iterator[Path]:
    """A path to read the stored file from: the file itself on local disk, otherwise a download
    into `work` (or a temporary folder) that is deleted afterwards."""
    path = local_path(field_file)
    if path is not None:
        if not path.is_file():
            raise FileNotFoundError(f"stored file {field_file.name} is missing")
        yield path
        return
    folder = Path(tempfile.mkdtemp(prefix="fetch-", dir=work))
    try:
        target = folder / f"file{PurePosixPath(field_file.name).suffix}"
        with field_file.storage.open(field_file.name, "rb") as src, target.open("wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        yield target
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def replace_content(field_file, source: Path) -> None:
    """Make the stored file hold the bytes of `source`, under the same name. On disk: a copy
    beside it and a rename; in a bucket: one PUT, which readers see whole or not at all."""
    path = local_path(field_file)
    if path is not None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".partial-", suffix=path.suffix)
        os.close(fd)
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return
    storage = field_file.storage
    with Path(source).open("rb") as handle:
        stored = storage._save(field_file.name, File(handle))  # overwrite in place
    if stored != field_file.name:
        raise RuntimeError(f"the storage renamed {field_file.name} to {stored}")


def stamp(field_files: list) -> None:
    """Hide when each file was made. On disk: one fixed mtime. In a bucket Last-Modified cannot
    be set, so the objects are copied onto themselves in random order, all within moments."""
    files = [f for f in field_files if f]
    local = [f for f in files if is_local(f.storage)]
    for field_file in local:
        path = Path(field_file.path)
        if path.is_file():
            os.utime(path, (FIXED_MTIME, FIXED_MTIME))
    remote = [f for f in files if not is_local(f.storage)]
    random.SystemRandom().shuffle(remote)
    for field_file in remote:
        _touch_object(field_file)


def _touch_object(field_file) -> None:
    from storages.utils import clean_name

    storage = field_file.storage
    key = storage._normalize_name(clean_name(field_file.name))
    client = storage.connection.meta.client
    head = client.head_object(Bucket=storage.bucket_name, Key=key)
    client.copy_object(
        Bucket=storage.bucket_name,
        Key=key,
        CopySource={"Bucket": storage.bucket_name, "Key": key},
        MetadataDirective="REPLACE",  # a copy onto itself must change something
        ContentType=head.get("ContentType", "application/octet-stream"),
    )


def signed_url(field_file, *, expire_s: int | None = None) -> str:
    """A presigned GET URL for a file in a bucket (not for local storage), valid `expire_s`
    (MEDIA_URL_EXPIRE_S by default) and telling the browser not to cache it longer."""
    expire = expire_s or settings.MEDIA_URL_EXPIRE_S
    return field_file.storage.url(
        field_file.name,
        parameters={"ResponseCacheControl": f"private, max-age={expire}"},
        expire=expire,
    )


def sha256_of(source) -> str:
    """The sha256 of a file: a path, or a stored FieldFile (read in 1 MiB blocks)."""
    import hashlib
    from pathlib import Path

    digest = hashlib.sha256()
    if isinstance(source, (str, Path)):
        handle = open(source, "rb")  # noqa: SIM115 (closed below)
    else:
        handle = source.open("rb")
    try:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    finally:
        handle.close()
    return digest.hexdigest()
