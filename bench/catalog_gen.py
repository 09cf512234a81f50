"""The 5 000-item catalog of the benches, generated from the project's sample catalog (with its aliases).

Each generated item copies a sample item (situations, materials, steps, aliases) under a distinct name
made of two qualifiers and a department, and gets one alias of its own, so that every name and one
alias per item need their own pinyin and index entries, as in a real catalog of that size.

Run: .venv/bin/python bench/catalog_gen.py OUT.json [--items 5000] [--version 1]
"""
from __future__ import annotations

import argparse
import copy
import json
import random
from pathlib import Path
from typing import Any

SAMPLE = Path(__file__).resolve().parent.parent / "simulators" / "data" / "catalog-sample.json"
# Words that make the generated names distinct while staying in the sample's vocabulary.
QUALIFIERS = ["首次", "变更", "延续", "注销", "补办", "换发", "备案", "核准", "迁入", "迁出", "个人", "企业", "农村",
              "城镇", "跨省", "省内", "市级", "县级", "乡镇", "临时"]


def generate(sample: dict[str, Any], count: int, seed: int = 7, version: int | None = None) -> dict[str, Any]:
    """A catalog of ``count`` items built from the sample's items, situations, departments and themes."""
    rng = random.Random(seed)
    base = sample["items"]
    items = []
    for n in range(count):
        src = base[n % len(base)]
        q1, q2 = rng.sample(QUALIFIERS, 2)
        dept = rng.choice(sample["departments"])
        item = copy.deepcopy(src)
        item["code"] = f"511900-GEN-{n:05d}"
        item["name"] = f"{q1}{src['name']}（{q2}{dept['name'][-4:]}）"
        aliases = list(src.get("aliases", []))
        item["aliases"] = aliases + ([f"{q1}{aliases[0]}"] if aliases else [])
        item["department"] = dept["code"]
        items.append(item)
    out = dict(sample)
    out["items"] = items
    out["themes"] = [dict(t, items=[i["code"] for i in items if t["code"] in i["themes"]][:50])
                     for t in sample["themes"]]
    if version is not None:
        out["version"] = version
    return out


def read_sample(path: Path = SAMPLE) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


def write(path: Path, count: int = 5000, version: int | None = None) -> Path:
    path.write_text(json.dumps(generate(read_sample(), count, version=version), ensure_ascii=False), "utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--version", type=int)
    args = parser.parse_args()
    write(args.out, args.items, args.version)
    print(f"{args.out}: {args.items} items, {args.out.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
