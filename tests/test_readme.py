"""The README stays true: each code line it quotes is at the line it links to."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"\| `(?P<code>[^`]+)` \| \[[^\]]+\]\((?P<path>[^)#]+)#L(?P<line>\d+)\)")


def test_quoted_code_is_at_the_linked_line():
    rows = list(ROW.finditer((ROOT / "README.md").read_text()))
    assert len(rows) >= 9
    for row in rows:
        lines = (ROOT / row["path"]).read_text().splitlines()
        line = lines[int(row["line"]) - 1]
        assert row["code"] in line, f"README: {row['path']}#L{row['line']} is now {line.strip()!r}"
