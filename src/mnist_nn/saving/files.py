"""Files: written so that a crash or Ctrl-C never leaves half of one behind, and `.npz` archives
read so that no file, however small, can make us allocate more than its headers honestly promise.
"""

import contextlib
import json
import math
import os
import shutil
import signal
import threading
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from mnist_nn.errors import UserError

MAX_ARRAY_BYTES = 1 << 30  # 1 GiB per file: MNIST's training set as float32 is 188 MB


def atomic_write(path, write, check=None) -> None:
    """Call `write(file)` on a temporary file next to `path`, then rename it into place.

    A rename within one folder is atomic: readers see the old file or the new one, never a part.
    `check(temporary_path)`, if given, runs before the rename and may raise to keep the file out
    (a download whose checksum fails never appears under its real name).
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(temporary, "wb") as file:
            write(file)
        if check is not None:
            check(temporary)
        os.replace(temporary, path)
    except OSError as error:  # a full disk or a read-only folder: say which file
        raise UserError(f"could not write {path}: {error.strerror or error}") from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)


def sweep_temporary_files(folder: Path, names) -> None:
    """Remove what interrupted `atomic_write`s of these names left in `folder` (`.NAME.tmp*`)."""
    for name in names:
        for stale in Path(folder).glob(f".{name}.tmp*"):
            with contextlib.suppress(OSError):
                stale.unlink()


def check_writable(folder: Path, room_bytes: int) -> None:
    """Fail now, before any work, if `folder` cannot take files of about `room_bytes`."""
    probe = Path(folder) / f".mnist-nn-write-test{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as error:
        raise UserError(
            f"cannot write in {folder}: {error.strerror or error}; choose another --out"
        ) from None
    free = shutil.disk_usage(folder).free
    if free < room_bytes:
        raise UserError(
            f"{folder} has {free / 2**20:.0f} MB free; this run writes about "
            f"{room_bytes / 2**20:.0f} MB: free some room or choose another --out"
        )


def save_json(path, data: dict) -> None:
    """Write `data` as indented JSON to `path` atomically."""
    text = json.dumps(data, indent=2) + "\n"
    atomic_write(path, lambda file: file.write(text.encode()))


class PickledArray(UserError):
    """An archive member holds Python objects, which only unpickling (running code) could read."""


def read_npz(path, max_bytes: int = MAX_ARRAY_BYTES, wanted=None) -> dict[str, np.ndarray]:
    """The arrays of a NumPy `.npz` archive at `path` (those `wanted(name)` accepts, when
    given), with bounded memory.

    The zip directory is read first: the members wanted must add up to at most `max_bytes`
    together, and the others are not read at all. Each member's `.npy` header is read next: its
    shape and dtype must fit in the size the zip directory gives for the member before anything
    is allocated; then exactly that many bytes are read (a zip member never yields more than its
    stated size). So a decompression bomb, a lying header or a thousand big members are refused
    in one line instead of filling the memory. Raises UserError (PickledArray for object
    arrays); zipfile/OS errors pass through.
    """
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        members = [
            info
            for info in archive.infolist()
            if wanted is None or wanted(info.filename.removesuffix(".npy"))
        ]
        total = sum(info.file_size for info in members)
        if total > max_bytes + 4096 * len(members):
            raise UserError(
                f"{path}: its arrays would take {total:,} bytes, over the limit of {max_bytes:,}"
            )
        for info in members:
            name = info.filename.removesuffix(".npy")
            with archive.open(info) as member:
                arrays[name] = _read_npy(path, name, member, info.file_size)
    return arrays


def _read_npy(path, name: str, member, member_size: int) -> np.ndarray:
    fmt = np.lib.format
    try:
        version = fmt.read_magic(member)
        read_header = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}
        shape, fortran_order, dtype = read_header[version](member)
    except (ValueError, KeyError, EOFError) as error:
        raise UserError(f"{path}: array {name!r} is not a readable .npy ({error})") from None
    if dtype.hasobject:
        raise PickledArray(f"{path}: array {name!r} holds Python objects")
    if any(not isinstance(length, int) or length < 0 for length in shape):
        raise UserError(f"{path}: array {name!r} has an impossible shape {shape}; it is damaged")
    size = math.prod(shape) * dtype.itemsize
    if size > member_size:
        raise UserError(
            f"{path}: array {name!r} claims {size:,} bytes of data in a member of "
            f"{member_size:,} bytes; the file is damaged"
        )
    data = bytearray(size)
    view, filled = memoryview(data), 0
    while filled < size:
        count = member.readinto(view[filled:])
        if not count:
            raise UserError(f"{path}: array {name!r} is truncated; the file is damaged")
        filled += count
    array = np.frombuffer(data, dtype=dtype)
    return array.reshape(shape, order="F" if fortran_order else "C")


@contextmanager
def signals_deferred():
    """Ctrl-C and SIGTERM wait until the block has run (in the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)


def unique_name(stem: str, suffix: str, taken: set) -> str:
    """stem+suffix, or stem-2+suffix, stem-3+suffix... whichever is not taken yet (a/digit.png
    and b/digit.png must not overwrite each other's saved input)."""
    name, number = f"{stem}{suffix}", 1
    while name in taken:
        number += 1
        name = f"{stem}-{number}{suffix}"
    taken.add(name)
    return name
