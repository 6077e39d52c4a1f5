"""Time and peak memory of `astschema check` on each class of hostile input.

    python bench/hostile.py [--repeat N] [--json FILE]

Each input class is written to a temporary tree next to a small valid model, and checked in a
fresh process N times (median wall time, peak RSS of the child from os.wait4). Each must stay
bounded: seconds and tens of MB, never minutes or gigabytes, whatever the input's size.
"""

import argparse
import json
import sys
import tempfile
from pathlib import Path

from measure import Run, median, run

MODEL = ('from sqlalchemy import Column, Integer\nfrom sqlalchemy.orm import declarative_base\n'
         'DATABASE_NAME = "ok"\nBase = declarative_base()\n'
         'class T(Base):\n    __tablename__ = "t"\n    id = Column(Integer, primary_key=True)\n')

INPUTS = {
    "valid model only (baseline)": None,
    "50,000 nested brackets": "x = " + "(" * 50_000 + "1" + ")" * 50_000 + "\n",
    "100,000 chained operators": "x = " + "+".join(["1"] * 100_000) + "\n",
    "100,000 chained attributes": "x = a" + ".b" * 100_000 + "\n",
    "20,000 nested calls": "x = " + "f(" * 20_000 + "1" + ")" * 20_000 + "\n",
    "3 MB string literal": 'x = "' + "a" * 3_000_000 + '"\n',
    "1 MB identifier": "a" * 1_000_000 + " = 1\n",
    "constant blow-up (\"x\" * 10**10, 2 ** 10**10)": 'A = "x" * 10**10\nB = 2 ** 10**10\nDATABASE_NAME = "a" * 10**9\n',
    "file over the size limit (5 MB)": "x = 1\n" * 900_000,
    "binary data": bytes(range(256)) * 4096,
    "NUL bytes": "DATABASE_NAME = 'x'\0\n" * 1000,
    "150 levels of indentation": "".join(" " * i + "if x:\n" for i in range(150)) + " " * 150 + "pass\n",
    "10,000 classes inheriting in a chain": "class C0: pass\n" + "".join(f"class C{i}(C{i-1}): pass\n" for i in range(1, 10_000)),
}


def measure(tree: Path) -> Run:
    return run([sys.executable, "-m", "astschema", "check", str(tree), "-q", "--no-cache"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n, (name, content) in enumerate(INPUTS.items()):
            tree = Path(tmp) / f"case{n}"
            (tree / "ok").mkdir(parents=True)
            (tree / "ok" / "db_models.py").write_text(MODEL)
            if content is not None:
                (tree / "bad").mkdir()
                data = content if isinstance(content, bytes) else content.encode()
                (tree / "bad" / "db_models.py").write_bytes(data)
            runs = [measure(tree) for _ in range(args.repeat)]
            seconds, _ = median(runs)
            rows.append({"input": name, "seconds": round(seconds, 2), "peak_mb": round(max(r.peak_mb for r in runs)),
                         "exit_code": runs[0].exit_code})
    width = max(len(r["input"]) for r in rows)
    print(f"{'input':<{width}}  {'median s':>8}  {'peak MB':>7}  exit")
    for r in rows:
        print(f"{r['input']:<{width}}  {r['seconds']:>8.2f}  {r['peak_mb']:>7}  {r['exit_code']}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))
    bounded = all(r["seconds"] < 30 and r["peak_mb"] < 500 and r["exit_code"] in (0, 1) for r in rows)
    print("all bounded" if bounded else "NOT BOUNDED")
    return 0 if bounded else 1


if __name__ == "__main__":
    sys.exit(main())
