"""Writing files so that a crash or Ctrl-C never leaves half of one behind."""

import json
import os
from pathlib import Path


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
    finally:
        temporary.unlink(missing_ok=True)


def save_json(path, data: dict) -> None:
    """Write `data` as indented JSON to `path` atomically."""
    text = json.dumps(data, indent=2) + "\n"
    atomic_write(path, lambda file: file.write(text.encode()))
