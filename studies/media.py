"""Serving stimulus files with HTTP Range support (Safari will not play video without it).

Responses carry no file name and no caching hints that outlive the session. In production the
bytes are sent by nginx (X-Accel-Redirect), which sees only the authorised, random file name,
or by the object store: the browser is redirected to a short-lived presigned URL.
"""

import mimetypes
import os
import re
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.http import FileResponse, HttpResponse, HttpResponseRedirect, StreamingHttpResponse

from studies import storage

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 64 * 1024


def _iter_range(path: str, start: int, length: int):
    with open(path, "rb") as handle:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive byte range a single-range `Range` header asks for, or None if unsatisfiable.

    Raises ValueError for a header that is not a single bytes range (the caller ignores it and
    serves the whole file, as RFC 9110 allows).
    """
    match = _RANGE.match(header.strip())
    if not match:
        raise ValueError(header)
    first, last = match.groups()
    if first == "" and last == "":
        raise ValueError(header)
    if first == "":  # suffix range: the last N bytes
        n = int(last)
        if n == 0:
            return None
        return max(0, size - n), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        return None
    return start, end


def _accel_redirect(path: str, content_type: str) -> HttpResponse | None:
    """The response that has nginx send the file (range requests included), or None where
    Django serves it itself (no MEDIA_ACCEL_REDIRECT, or a file outside MEDIA_ROOT)."""
    prefix = settings.MEDIA_ACCEL_REDIRECT
    if not prefix:
        return None
    root = Path(settings.MEDIA_ROOT).resolve()
    full = Path(path).resolve()
    if root not in full.parents:
        return None
    if not full.is_file():
        raise FileNotFoundError(path)
    response = HttpResponse(content_type=content_type)
    response["X-Accel-Redirect"] = prefix + quote(full.relative_to(root).as_posix())
    return _finish(response)


def serve_stored(request, field_file) -> HttpResponse:
    """A stored file, after the caller has authorised the request: from disk (or nginx), or by
    a redirect to a presigned URL of the bucket. Raises FileNotFoundError for a missing file."""
    path = storage.local_path(field_file)
    if path is not None:
        return serve_file(request, str(path))
    if not field_file:
        raise FileNotFoundError("no file")
    response = HttpResponseRedirect(storage.signed_url(field_file))
    # The signed URL expires: the redirect itself must never be reused from a cache.
    response["Cache-Control"] = "no-store"
    return response


def serve_file(request, path: str) -> HttpResponse:
    content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    handed_over = _accel_redirect(path, content_type)
    if handed_over is not None:
        return handed_over
    size = os.path.getsize(path)
    header = request.headers.get("Range")
    byte_range = None
    if header:
        try:
            byte_range = parse_range(header, size)
        except ValueError:
            header = None
        else:
            if byte_range is None:
                response = HttpResponse(status=416)
                response["Content-Range"] = f"bytes */{size}"
                return _finish(response)
    if byte_range is None:
        response = FileResponse(open(path, "rb"), content_type=content_type)
        response["Content-Length"] = str(size)
    else:
        start, end = byte_range
        length = end - start + 1
        response = StreamingHttpResponse(
            _iter_range(path, start, length), status=206, content_type=content_type
        )
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(length)
    return _finish(response)


def _finish(response: HttpResponse) -> HttpResponse:
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    # FileResponse may add a Content-Disposition with the stored name; never send one.
    if "Content-Disposition" in response:
        del response["Content-Disposition"]
    return response
