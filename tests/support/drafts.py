"""Filling a submission draft the way a person does at the screen, for the service tests."""
from __future__ import annotations

from typing import Any


def answer_materials(submit: Any, view: dict[str, Any], paper: tuple[str, ...] = ()) -> None:
    """Every material of the draft ``view`` that still needs an answer (required ones, and the agent's power
    of attorney) is captured with the document camera — or handed in on paper when its code is in ``paper``."""
    for m in view["materials"]:
        if m["code"] in paper:
            submit.choose(m["code"], "paper")
        elif m["choice"] is None and (m["required"] or m["authorization"]):
            submit.capture(m["code"])
