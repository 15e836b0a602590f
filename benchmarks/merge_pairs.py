"""Merge one cache of reads into another, so that a setting re-extracted there keeps every question already read.

    .venv/bin/python benchmarks/merge_pairs.py cache/dev/pairs.pkl cache/pairs.pkl

``benchmarks/cascade_dev.py read`` reads every SQuAD v1.1 dev question's top-5 passages (all indexed, hybrid) into
``cache/dev/pairs.pkl``; merged into the calibration cache, ``python -m openbook.evaluation.signals`` (or ``openbook eval
calibrate --cache``) keeps every question of the all-indexed setting whose passages are all read instead of every 3rd
(move that setting's ``.pkl`` away first so it is extracted again; searching all 10,570 questions takes a few minutes,
nothing is read again).
"""

from __future__ import annotations

import sys
from pathlib import Path

from openbook.evaluation.signals import PairCache


def main() -> None:
    source, target = PairCache(Path(sys.argv[1])), PairCache(Path(sys.argv[2]))
    before = len(target.pairs)
    target.pairs.update({k: v for k, v in source.pairs.items() if k not in target.pairs})
    target.save()
    print(f"{target.path}: {before} + {len(target.pairs) - before} = {len(target.pairs)} (question, passage) reads")


if __name__ == "__main__":
    main()
