"""Write the human norms the package ships (instruments/data/norms_ipip50.json).

Reads the openpsychometrics.org IPIP-50 data (19,719 respondents; tab-separated,
answers 1-5, 0 = missing) and writes item statistics and, for the IPIP-50, the
Mini-IPIP and their shortened forms (the first k items of each domain), domain means,
SDs, score distributions, the 5 x 5 correlation matrix, alpha and omega (see
personascope.instruments.norms). The raw file is never copied into the repository; only
these derived figures are.

    .venv/bin/python scripts/build_norms.py [--data PATH.tsv] [--out PATH.json]

(default data: ../shared/data/human/ipip50_openpsychometrics.tsv)
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
from pathlib import Path

import numpy as np

from personascope.instruments.norms import NORMS_FILE, build_norms

DEFAULT_DATA = (
    Path(__file__).resolve().parents[2] / "shared/data/human/ipip50_openpsychometrics.tsv"
)
SOURCE = (
    "openpsychometrics.org IPIP-50 Big-Five data (online test, c. 2012; 19,719 "
    "respondents; https://openpsychometrics.org/_rawdata/)"
)


def read_answers(path: Path) -> tuple[list[str], np.ndarray]:
    """The item columns (E1..O10) of the TSV as floats, 0 -> NaN."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    header = rows[0]
    columns = [j for j, name in enumerate(header) if name[:1] in "ENACO" and name[1:].isdigit()]
    raw = np.array([[float(row[j]) for j in columns] for row in rows[1:]])
    raw[raw == 0] = np.nan
    return [header[j] for j in columns], raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=NORMS_FILE)
    args = parser.parse_args()
    digest = hashlib.sha256(args.data.read_bytes()).hexdigest()
    item_ids, raw = read_answers(args.data)
    norms = build_norms(item_ids, raw, SOURCE, digest)
    args.out.write_text(json.dumps(norms, indent=1) + "\n", encoding="utf-8")
    scale = norms["scales"]["ipip50"]
    print(f"wrote {args.out}: {norms['n_respondents']} respondents, {scale['n']} complete")
    for d, m, s in zip(scale["domains"], scale["mean"], scale["sd"]):
        print(f"  {d}: mean {m:.3f} sd {s:.3f} alpha {scale['alpha'][d]['value']:.3f}")


if __name__ == "__main__":
    main()
