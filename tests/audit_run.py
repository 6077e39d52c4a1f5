"""`python -m astschema ARGS...` under an audit hook watching TREE; used by tests/test_hostile.py.

Usage: audit_run.py TREE ARGS...

Always run in a subprocess: an audit hook cannot be removed. The hook is the first thing
installed, before anything of astschema is imported. It records any import of a module of
TREE, any exec/compile of code from TREE or of a trap's text, any file opened for writing or
other change to the file system, any socket and any process started; and which files of TREE
were read although a symbolic link leads outside it. The command's own output
goes to stdout/stderr as usual; the record is the last line of stderr, after REPORT_PREFIX, as
JSON. The exit code is the command's.
"""

import os
import sys

from audit_common import parse_only

TRAP_TEXT = "HOSTILE"  # every trap of fixtures/hostile writes this word
REPORT_PREFIX = "astschema-audit: "
PROCESS_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.fork", "pty.spawn")
FS_EVENTS = ("os.remove", "os.rename", "os.mkdir", "os.rmdir", "os.symlink", "os.link", "os.truncate",
             "os.chmod", "os.chown", "os.utime", "shutil.")
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

TREE = os.path.realpath(sys.argv[1])
violations = []
read_through_links = []  # files of the tree read although a link takes them outside it


def under_tree(path, resolve=os.path.realpath) -> bool:
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, (str, os.PathLike)):
        return False
    real = resolve(path)
    return real == TREE or real.startswith(TREE + os.sep)


def has_trap_text(source) -> bool:
    if isinstance(source, str):
        return TRAP_TEXT in source
    return isinstance(source, (bytes, bytearray)) and TRAP_TEXT.encode() in source


def hook(event, args):
    if event == "import" and (args[0].partition(".")[0] in TREE_NAMES or args[0] == "hostile_injected"):
        violations.append(f"import {args[0]}")
    elif event == "exec" and under_tree(getattr(args[0], "co_filename", None)):
        violations.append(f"exec of code from {args[0].co_filename}")
    elif event == "compile" and (under_tree(args[1]) or has_trap_text(args[0])) and not parse_only():
        violations.append(f"compile of {args[1]!r}")
    elif event == "open" and ((isinstance(args[1], str) and any(c in args[1] for c in "wax+"))
                              or (isinstance(args[2], int) and args[2] & WRITE_FLAGS)):
        violations.append(f"open for writing: {args[0]!r} mode={args[1]!r} flags={args[2]!r}")
    elif event == "open" and under_tree(args[0], os.path.abspath) and not under_tree(args[0]):
        read_through_links.append(os.fspath(args[0]))
    elif event.startswith(("socket.", *PROCESS_EVENTS, *FS_EVENTS)):
        violations.append(f"{event} {args!r}"[:300])


TREE_NAMES = {"hostile_injected"}  # filled below; the hook reads it at each event
sys.addaudithook(hook)

# Every name a module of the tree could be imported under: each .py file and package directory.
for _directory, _dirs, _files in os.walk(TREE):
    TREE_NAMES.update(f[:-3] for f in _files if f.endswith(".py"))
    TREE_NAMES.update(_dirs)
TREE_NAMES.discard("__pycache__")

import json  # noqa: E402  (after the hook, so these imports are watched too)
import runpy  # noqa: E402

sys.argv = [sys.argv[0], *sys.argv[2:]]
sys.path[0] = os.getcwd()  # as `python -m` has it
code = None
try:
    runpy.run_module("astschema", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code
finally:
    astschema = sys.modules.get("astschema")
    report = {
        "violations": violations,
        "read_through_links": sorted(set(read_through_links)),
        "exit_code": code,
        "modules_from_tree": sorted(
            name for name, module in list(sys.modules.items()) if under_tree(getattr(module, "__file__", None))
        ),
        "injected_modules": sorted(name for name in ("hostile_injected",) if name in sys.modules),
        "astschema_module": getattr(astschema, "__file__", None),
    }
    sys.stdout.flush()
    print(REPORT_PREFIX + json.dumps(report), file=sys.stderr)
sys.exit(code)
