"""astschema against the import bootstrap it replaces, side by side, on generated trees.

    python bench/run.py [--sizes 100,1000,10000] [--repeat 3] [--json FILE] [--work DIR]

For each size N, bench/make_tree.py generates N modules of 10 tables (seed 1; kept in --work
for later runs). Then, each as a fresh process, --repeat times (median reported):

  bootstrap   bench/import_bootstrap.py: imports every db_models.py and compiles its DDL
  cold        astschema ddl, empty cache (each run right after a bootstrap run: side by side)
  warm        astschema ddl, cache full, nothing changed
  touched     astschema ddl after one model file changed without changing its schema (a comment)
  edited      astschema ddl after one model file changed its schema (a table added)
  ast floor   stdlib ast.parse over every .py file of the tree (one core, parse loop only)
  cst floor   libcst.parse_module over the same files (one core, parse loop only)
  parse stage astschema's parse stage (parse_source) over the same files (one core)
  sqlalchemy floor  SQLAlchemy's part of a cold `ddl` (one core): the bootstrap's own tables,
              imported first (not timed), built again by SQLAlchemy's constructors
              (Table.to_metadata) and compiled for sqlite, which `ddl` prints, and for
              postgresql, which its checks compile (AS207)

Each round runs the bootstrap, a cold run and the four loops one after the other; the cold
run's and the floors' ratios to the bootstrap, and the parse stage's to libcst, are also given
as the median of the rounds' ratios, in which the machine's drift between rounds cancels out.
The libcst and SQLAlchemy floors together, spread over every core at the machine's parallel
speed-up, are the least a cold run could take here, however little astschema did besides.

The machine line says how much faster a pure-Python loop runs on one process per core than
on one process: the most that worker processes can gain here (cloud vCPUs often share cores).

Before any figure is reported, the DDL of the first cold run must equal the bootstrap's
(comment lines aside); the benchmark stops otherwise. Peak memory is the largest resident set
of the process and its workers, and CPU time their user and system time summed (os.wait4): the
work done on every core together, which does not depend on how many cores there are. Ratios
are to the bootstrap of the same size.
"""

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from measure import median, run

BENCH = Path(__file__).resolve().parent
TABLES_PER_MODULE = 10
SEED = 1


def tree_of(size: int, work: Path) -> Path:
    tree = work / f"tree-{size}x{TABLES_PER_MODULE}-seed{SEED}"
    if not (tree / ".complete").exists():
        shutil.rmtree(tree, ignore_errors=True)
        subprocess.run([sys.executable, str(BENCH / "make_tree.py"), "--modules", str(size),
                        "--tables-per-module", str(TABLES_PER_MODULE), "--seed", str(SEED), str(tree)], check=True)
        (tree / ".complete").write_text("")
    return tree


def ddl_lines(output: bytes) -> list[bytes]:
    """The DDL without comment lines (astschema says what it leaves out; the bootstrap does not)."""
    return [line for line in output.splitlines() if not line.startswith(b"-- left out:")]


def astschema_ddl(tree: Path, cache: Path) -> list[str]:
    return [sys.executable, "-m", "astschema", "ddl", str(tree), "--cache-dir", str(cache), "-q"]


def floor(kind: str, tree: Path) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--floor", kind, str(tree)]


def sqlalchemy_floor(tree: Path) -> dict:
    """In a child process: the seconds SQLAlchemy takes to build the tables the bootstrap
    imports from `tree` (imported first, not timed) and to compile their DDL for sqlite and
    postgresql, with the collector off, as in astschema's compiling workers."""
    import gc

    import sqlalchemy as sa

    import import_bootstrap

    root = tree.resolve()
    sys.path.insert(0, str(root))
    sys.dont_write_bytecode = True
    databases = import_bootstrap.collect(root)
    gc.collect()
    gc.freeze()
    gc.disable()
    parts = {}
    start = time.perf_counter()
    built = []
    for entry in databases.values():
        metadata = sa.MetaData()
        built.append([table.to_metadata(metadata) for table in entry["tables"]])
    parts["build"] = time.perf_counter() - start
    for name, module in import_bootstrap.DIALECTS.items():
        dialect = module.dialect()
        start = time.perf_counter()
        for tables in built:
            import_bootstrap.statements(tables, dialect)
        parts[name] = time.perf_counter() - start
    return {"seconds": sum(parts.values()), "parts": parts, "tables": sum(map(len, built))}


def measure_floor(kind: str, tree: Path) -> None:
    """In a child process: parse every .py file of `tree` one way, or (`sqlalchemy`) do
    SQLAlchemy's part; print the loop's seconds."""
    if kind == "sqlalchemy":
        print(json.dumps(sqlalchemy_floor(tree)))
        return
    sources = [(str(p), p.read_bytes()) for p in sorted(tree.rglob("*.py"))]
    if kind == "ast":
        import ast

        parse = lambda path, data: ast.parse(data)  # noqa: E731
    elif kind == "cst":
        import libcst

        parse = lambda path, data: libcst.parse_module(data)  # noqa: E731
    else:
        from astschema.parse import parse_source

        parse = lambda path, data: parse_source(data, path, "m")  # noqa: E731
    start = time.perf_counter()
    for path, data in sources:
        parse(path, data)
    print(json.dumps({"seconds": time.perf_counter() - start, "bytes": sum(len(d) for _, d in sources),
                      "files": len(sources)}))


TOUCH = "# touched {n}\n"
EDIT = """

class BenchEdited{n}({base}):
    __tablename__ = "bench_edited_{n}"
    id = Column(Integer, primary_key=True)
"""


def touched_file(tree: Path) -> Path:
    return sorted(tree.glob("modules/standard/*/db_models.py"))[0]


def bench_size(size: int, repeat: int, work: Path) -> dict:
    tree = tree_of(size, work)
    cache = work / f"cache-{size}"
    kinds = {"ast": "ast floor", "cst": "cst floor", "stage": "parse stage", "sqlalchemy": "sqlalchemy floor"}
    rows = {name: [] for name in ("bootstrap", "cold", *kinds.values())}
    loops, parts = {kind: [] for kind in kinds}, []
    result = {"size": size, "tables": size * TABLES_PER_MODULE}
    for _ in range(repeat):  # in rounds, so that the machine's drift hits all alike
        rows["bootstrap"].append(run([sys.executable, str(BENCH / "import_bootstrap.py"), str(tree)]))
        shutil.rmtree(cache, ignore_errors=True)
        rows["cold"].append(run(astschema_ddl(tree, cache)))
        for kind, row in kinds.items():
            rows[row].append(run(floor(kind, tree)))
            reported = json.loads(rows[row][-1].stdout)
            loops[kind].append(reported["seconds"])
            if kind == "cst":
                result["bytes"], result["files"] = reported["bytes"], reported["files"]
            elif kind == "sqlalchemy":
                parts.append(reported["parts"])
                result["sqlalchemy_tables"] = reported["tables"]
    if ddl_lines(rows["cold"][0].stdout) != ddl_lines(rows["bootstrap"][0].stdout) or rows["bootstrap"][0].exit_code:
        sys.exit(f"size {size}: astschema's DDL differs from the import bootstrap's (or the bootstrap failed); "
                 "no figures reported")
    rows["warm"] = [run(astschema_ddl(tree, cache)) for _ in range(repeat)]
    target = touched_file(tree)
    original = target.read_bytes()
    base = re.search(rb"^(\w+) = (?:DatabaseBase|get_database_base)\(", original, re.MULTILINE)[1].decode()
    try:
        for name, edit in (("touched", TOUCH), ("edited", EDIT)):
            rows[name] = []
            for n in range(repeat):  # a new edit each time, as between two runs
                target.write_bytes(original + edit.format(n=n, base=base).encode())
                rows[name].append(run(astschema_ddl(tree, cache)))
            if (b"bench_edited_" in rows[name][-1].stdout) != (name == "edited"):
                sys.exit(f"size {size}: the {name} run's DDL is not what the edit asks; no figures reported")
    finally:
        target.write_bytes(original)
    for kind, seconds in loops.items():
        result[f"{kind}_loop_seconds"] = statistics.median(seconds)
    result["sqlalchemy_parts_seconds"] = {part: statistics.median(p[part] for p in parts) for part in parts[0]}
    base = median(rows["bootstrap"])[0]

    def row(runs) -> dict:
        seconds, peak = median(runs)
        return {"seconds": round(seconds, 3), "peak_mb": round(peak, 1), "ratio": round(seconds / base, 3),
                "cpu_seconds": round(statistics.median(r.cpu_seconds for r in runs), 3)}

    result["rows"] = {name: row(runs) for name, runs in rows.items()}
    # the medians of each round's ratios: the drift between rounds cancels out
    result["parse_stage_over_cst"] = round(statistics.median(
        stage / cst for stage, cst in zip(loops["stage"], loops["cst"], strict=True)), 3)
    boots = [r.seconds for r in rows["bootstrap"]]
    result["cold_over_bootstrap_by_round"] = round(statistics.median(
        cold.seconds / boot for cold, boot in zip(rows["cold"], boots, strict=True)), 3)
    result["floors_over_bootstrap"] = round(statistics.median(
        (cst + alchemy) / boot for cst, alchemy, boot in zip(loops["cst"], loops["sqlalchemy"], boots, strict=True)), 3)
    return result


def _spin(rounds: int) -> float:
    """CPU-bound work with no I/O and no shared state (`rounds` times ten million steps);
    its own wall time."""
    start, total = time.perf_counter(), 0
    for n in range(rounds * 10_000_000):
        total += n * n
    return time.perf_counter() - start


def parallel_speedup(repeat: int) -> tuple[int, float]:
    """(cores, how many times more work per second one process per core does than one
    process alone), the median of `repeat` measurements."""
    import multiprocessing

    from astschema.cache import cores

    count, ratios = cores(), []
    with multiprocessing.Pool(count) as workers:
        for _ in range(repeat):
            alone = _spin(1)
            start = time.perf_counter()
            workers.map(_spin, [1] * count)
            ratios.append(count * alone / (time.perf_counter() - start))
    return count, statistics.median(ratios)


def report(result: dict) -> None:
    print(f"\n{result['size']} modules, {result['tables']} tables, {result['files']} files, "
          f"{result['bytes'] / 1e6:.2f} MB (medians; ratio to the bootstrap)")
    print(f"  {'':<16} {'wall s':>8} {'ratio':>7} {'peak MB':>8} {'CPU s':>8}")
    for name, row in result["rows"].items():
        print(f"  {name:<16} {row['seconds']:>8.2f} {row['ratio']:>7.3f} {row['peak_mb']:>8.0f} {row['cpu_seconds']:>8.2f}")
    print(f"  parse loops: ast {result['ast_loop_seconds']:.2f} s, libcst {result['cst_loop_seconds']:.2f} s, "
          f"astschema parse stage {result['stage_loop_seconds']:.2f} s "
          f"({result['parse_stage_over_cst']:.2f}x libcst)")
    print(f"  by round (the median of each round's ratio): cold {result['cold_over_bootstrap_by_round']:.3f}x "
          "the bootstrap")
    parts = ", ".join(f"{part} {seconds:.2f} s" for part, seconds in result["sqlalchemy_parts_seconds"].items())
    floors, speedup = result["floors_over_bootstrap"], result["parallel_speedup"]
    print(f"  SQLAlchemy's part on one core: {result['sqlalchemy_loop_seconds']:.2f} s ({parts}); "
          f"with libcst's parse, {floors:.3f}x the bootstrap on one core, {floors / speedup:.3f}x spread over "
          f"{result['cores']} cores at {speedup:.2f}x: the least a cold run could take here")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000", help="module counts, comma-separated")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--work", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "astschema-bench",
                        help="where generated trees and caches are kept")
    parser.add_argument("--floor", nargs=2, metavar=("KIND", "TREE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor:
        measure_floor(args.floor[0], Path(args.floor[1]))
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
    cores, speedup = parallel_speedup(args.repeat)
    print(f"{cores} cores (a CPU-bound loop runs {speedup:.2f}x as fast on {cores} processes as on one), "
          f"Python {sys.version.split()[0]}, {args.repeat} runs each")
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        results.append({**bench_size(size, args.repeat, args.work), "cores": cores, "parallel_speedup": round(speedup, 2)})
        report(results[-1])
        if args.json:
            args.json.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
