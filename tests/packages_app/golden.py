"""shared/upstream/golden-captures.txt, parsed: the exact answers of the real upstream server."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

GOLDEN_PATH = Path(os.environ.get("GOLDEN_CAPTURES", "/work/shared/upstream/golden-captures.txt"))
GOLDEN_TODAY = dt.date(2026, 11, 24)
CAPTURED_HOST = "127.0.0.1:5093"


@dataclass
class Capture:
    path: str
    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def load_captures(path: Path = GOLDEN_PATH) -> list[Capture]:
    """Every `=== GET <path>` block: status line, headers, a blank line, then the body."""
    captures: list[Capture] = []
    blocks = path.read_text().split("=== GET ")[1:]
    for block in blocks:
        # The transcript ends with '#' comment lines after the last body.
        lines = block.split("\n")
        request_path = lines[0].strip()
        status_line = lines[1]
        _, code, reason = status_line.split(" ", 2)
        headers: dict[str, str] = {}
        index = 2
        while lines[index]:
            name, value = lines[index].split(": ", 1)
            headers[name.lower()] = value
            index += 1
        body_lines = []
        for line in lines[index + 1 :]:
            if line.startswith("#"):
                break
            body_lines.append(line)
        body = "\n".join(body_lines).rstrip("\n").encode()
        length = int(headers["content-length"])
        # Bodies end with exactly one "\n" when the server wrote one: trust Content-Length.
        if len(body) + 1 == length:
            body += b"\n"
        assert len(body) == length, (request_path, len(body), length)
        captures.append(Capture(request_path, int(code), reason, headers, body))
    return captures
