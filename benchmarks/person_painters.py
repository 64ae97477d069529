"""Give person files already fine-tuned the painters `finetune` would give them now.

  python benchmarks/person_painters.py PERSON... [--mouth PATH|none] [--eyes PATH|none]

A person's generator and its psi do not depend on the painters (they are fine-tuned without them), so an
evaluation can try new painters on the fine-tunes it already has instead of fine-tuning every person again
(minutes each on this CPU). Without --mouth or --eyes, the shipped painter of that region (models/), as
`finetune` takes it; "none" takes it out. Each file is rewritten in place, atomically.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from core.__main__ import project_package  # noqa: E402

project_package()
from talking_heads.core.atomic import atomic_path  # noqa: E402
from talking_heads.core.model.person import load_person  # noqa: E402
from talking_heads.core.training.finetune import load_painter_of  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("persons", nargs="+")
    ap.add_argument("--mouth")
    ap.add_argument("--eyes")
    args = ap.parse_args()
    painters = {region: load_painter_of(region, getattr(args, region)) for region in ("mouth", "eyes")}
    for path in args.persons:
        person = load_person(path)
        person = replace(person, config={**person.config, **{r: p[1] if p else None for r, p in painters.items()}},
                         **{r: p[0] if p else None for r, p in painters.items()})
        with atomic_path(Path(path)) as tmp:
            person.save(tmp)
        print(path, ", ".join(f"{r}: {p[1] if p else 'none'}" for r, p in painters.items()))


if __name__ == "__main__":
    main()
