"""Where a run's memory and time go, stage by stage: `python -m astschema ARGS` in this process,
with the resident size printed after each stage (and the highest so far).

    python bench/stages.py ddl TREE --cache-dir DIR > /dev/null

Prints, on stderr, one line per stage as it ends: its seconds, then the resident set of this
(the scanning) process and its high-water mark, in MB. Linux only (`/proc/self/status`).
"""

import functools
import sys
import time


def resident() -> tuple[int, int]:
    with open("/proc/self/status") as status:
        fields = dict(line.split(":", 1) for line in status)
    return int(fields["VmRSS"].split()[0]) // 1024, int(fields["VmHWM"].split()[0]) // 1024


def main(argv) -> int:
    from astschema import api, checker, cli, ddl, extract, store

    def timed(owner, name, label):
        real = getattr(owner, name)

        @functools.wraps(real)
        def stage(*args, **kwargs):
            start = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                print(f"{label:<10} {time.perf_counter() - start:8.2f} s  %5d MB (highest %5d)" % resident(),
                      file=sys.stderr)

        setattr(owner, name, stage)

    timed(api, "_registered", "parse")
    timed(extract, "assemble", "assemble")
    timed(api, "scan", "scan")
    timed(ddl, "compile_databases", "compile")
    timed(checker, "check", "check")
    timed(store, "store_run", "store")
    start = time.perf_counter()
    try:
        return cli.main(argv)
    finally:
        print(f"{'total':<10} {time.perf_counter() - start:8.2f} s  %5d MB (highest %5d)" % resident(),
              file=sys.stderr)


if __name__ == "__main__":  # the compiling workers are spawned: they import this file again
    sys.exit(main(sys.argv[1:]))
