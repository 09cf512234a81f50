"""The byte vectors of docs/ioboard-protocol.md, read from the document itself so that the doc, the
firmware codec and the Pi codec cannot drift apart."""
from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

DOC = Path(__file__).resolve().parents[2] / "docs" / "ioboard-protocol.md"


class Vector(NamedTuple):
    name: str
    type: int
    seq: int
    payload: bytes
    frame: bytes


def _hex(text: str) -> bytes:
    return b"" if text == "-" else bytes.fromhex(text)


def load_vectors() -> list[Vector]:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("```vectors", 1)[1].split("```", 1)[0]
    vectors = []
    for line in block.strip().splitlines():
        name, ftype, seq, payload, frame = (part.strip() for part in line.split("|"))
        vectors.append(Vector(name, int(ftype, 16), int(seq, 16), _hex(payload), _hex(frame)))
    return vectors


VECTORS = load_vectors()
BY_NAME = {v.name: v for v in VECTORS}
