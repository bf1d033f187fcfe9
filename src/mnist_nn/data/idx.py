"""The IDX file format of MNIST: read it safely, verify it, write it.

An IDX file is a 4-byte magic number, one big-endian uint32 per dimension, then the values:
    magic = 0x00 0x00 <type> <ndim>     type 0x08 = unsigned byte; ndim 1 (labels) or 3 (images)
    labels: 2049 = 0x00000801, then N                       -> N bytes
    images: 2051 = 0x00000803, then N, rows, cols           -> N*rows*cols bytes
Files may be gzipped (the published ones are). The header is checked before anything is allocated
from it, so a truncated or lying file gives a clear error instead of a huge allocation. Only the
unsigned-byte type is supported: it is the only one MNIST uses.
"""

import gzip
import hashlib
import math
import struct
import zlib
from pathlib import Path

import numpy as np

from mnist_nn.errors import UserError

UNSIGNED_BYTE = 0x08
MAGIC_LABELS = 2049  # 0x00000801: unsigned bytes, 1 dimension
MAGIC_IMAGES = 2051  # 0x00000803: unsigned bytes, 3 dimensions
GZIP_MAGIC = b"\x1f\x8b"
MAX_DATA_BYTES = 200_000_000  # MNIST's largest file holds 47,040,000 bytes of pixels


def _open(path: Path):
    """Open a file for reading, gunzipping on the fly if it is gzipped (by content, not name)."""
    with open(path, "rb") as probe:
        is_gzip = probe.read(2) == GZIP_MAGIC
    return gzip.open(path, "rb") if is_gzip else open(path, "rb")


def _parse_header(stream, path: Path) -> tuple[bytes, tuple[int, ...]]:
    """Read and check the magic number and dimensions; return the raw header and the shape."""
    magic = stream.read(4)
    if len(magic) < 4:
        raise UserError(
            f"{path}: not an IDX file (only {len(magic)} bytes); delete it and fetch it again"
        )
    zeros, dtype_code, ndim = magic[:2], magic[2], magic[3]
    if zeros != b"\x00\x00" or ndim not in (1, 3):
        found = int.from_bytes(magic, "big")
        raise UserError(
            f"{path}: wrong magic number {found} (expected {MAGIC_LABELS} for labels or "
            f"{MAGIC_IMAGES} for images); this is not an MNIST IDX file"
        )
    if dtype_code != UNSIGNED_BYTE:
        raise UserError(
            f"{path}: IDX value type 0x{dtype_code:02x} is not unsigned byte (0x08), "
            "the type MNIST uses"
        )
    dims_bytes = stream.read(4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise UserError(
            f"{path}: truncated header (dimensions missing); delete it and fetch it again"
        )
    shape = struct.unpack(f">{ndim}I", dims_bytes)
    if ndim == 3 and (shape[1] == 0 or shape[2] == 0):
        raise UserError(f"{path}: header claims images of {shape[1]}x{shape[2]} pixels")
    return magic + dims_bytes, shape


def read_idx(path, expected_sha256: str | None = None) -> np.ndarray:
    """Read an IDX file (gzipped or not) into a uint8 array of the shape its header gives.

    With `expected_sha256`, the SHA-256 of the decompressed bytes must match it: the gzip wrapper
    differs between mirrors, the content does not.
    """
    path = Path(path)
    try:
        with _open(path) as stream:
            header, shape = _parse_header(stream, path)
            # Memory is bounded by the header's claim (itself capped) and by what is really there:
            # a header claiming 10^9 images allocates nothing, and a small .gz that inflates
            # to gigabytes is read no further than one byte past what its header claims.
            expected_bytes = math.prod(shape)
            if expected_bytes > MAX_DATA_BYTES:
                raise UserError(
                    f"{path}: header claims {expected_bytes:,} bytes of data, more than any MNIST "
                    f"file ({MAX_DATA_BYTES:,} at most here); this is not an MNIST IDX file"
                )
            body = stream.read(expected_bytes + 1)
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except (EOFError, OSError, zlib.error) as error:
        # EOFError: gzip stream cut short; BadGzipFile (an OSError): damaged compression.
        raise UserError(
            f"{path}: damaged or truncated file ({error}); delete it and fetch it again"
        ) from None
    if len(body) != expected_bytes:
        what = "images" if len(shape) == 3 else "labels"
        holds = "more than that" if len(body) > expected_bytes else f"{len(body)} bytes"
        raise UserError(
            f"{path}: header claims {shape[0]} {what} ({expected_bytes} bytes of data) but the "
            f"file holds {holds}: truncated or corrupt, delete it and fetch it again"
        )
    if expected_sha256 is not None:
        actual = hashlib.sha256(header + body).hexdigest()
        if actual != expected_sha256:
            raise UserError(
                f"{path}: SHA-256 mismatch (expected {expected_sha256}, got {actual}); "
                "the file is corrupt or not the canonical MNIST, delete it and fetch it again"
            )
    return np.frombuffer(body, dtype=np.uint8).reshape(shape)


def idx_header(shape: tuple[int, ...]) -> bytes:
    """The IDX header (magic number and dimensions) of a uint8 array of this shape."""
    return bytes([0, 0, UNSIGNED_BYTE, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)


def idx_sha256(array: np.ndarray) -> str:
    """The SHA-256 of `array`'s IDX encoding (the published checksums are of those bytes),
    computed without copying the array."""
    digest = hashlib.sha256(idx_header(array.shape))
    digest.update(memoryview(np.ascontiguousarray(array, dtype=np.uint8)).cast("B"))
    return digest.hexdigest()


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding (uncompressed) of a uint8 array of 1 or 3 dimensions."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    return idx_header(array.shape) + array.tobytes()


def write_idx(path, array: np.ndarray, compress: bool = False) -> None:
    """Write `array` as an IDX file, gzipped if `compress` (for tests and generated data)."""
    data = idx_bytes(array)
    Path(path).write_bytes(gzip.compress(data) if compress else data)
