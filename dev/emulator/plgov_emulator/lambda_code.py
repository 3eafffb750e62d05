"""Lambda functions created from the same S3 object share one copy of its bytes.

moto 5.2 creates a function from `Code: {S3Bucket, S3Key}` by reading the object's whole body into
a new bytes object (`FakeKey.value`) and hashing it, for every function: a stack set that deploys
the same two zips (160 MB each for the project's debug builds) to three accounts in two regions,
plus the hub's own stack, held fourteen copies, 2 GB of the emulator's memory, and hashed 2 GB.
AWS copies the code into each function too, but the emulator never runs it.

Here the content read for a function is kept by the object's ETag (the MD5 of its body) for the
last few objects read: functions created from the same content (the same object, or a copy of it
in another bucket) get the same immutable bytes object and its hashes, computed once. What the
functions answer (CodeSize, CodeSha256, GetFunction) is unchanged.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import moto.awslambda.models as lambda_models

KEPT = 4  # distinct contents kept for the next function; older ones live on in their functions only

_lock = threading.Lock()
_recent: OrderedDict[str, tuple[bytes, int, str, str]] = OrderedDict()


def install() -> None:
    original = lambda_models._s3_content

    def s3_content(key: Any) -> tuple[bytes, int, str, str]:
        etag = getattr(key, "etag", None)
        if not etag:
            return original(key)
        with _lock:
            if etag in _recent:
                _recent.move_to_end(etag)
                return _recent[etag]
        content = original(key)
        with _lock:
            _recent[etag] = content
            while len(_recent) > KEPT:
                _recent.popitem(last=False)
        return content

    lambda_models._s3_content = s3_content
