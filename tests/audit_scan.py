"""Run `astschema.scan(ROOT)` under an audit hook and print what it saw, as JSON.

Run in a subprocess by tests/test_never_executes.py: an audit hook cannot be removed once
added, so it must not live in the test process. Flags any import or exec/compile of code
under ROOT, any file opened for writing, any socket, any process started.
"""

import json
import sys
from pathlib import Path

from audit_common import parse_only

ROOT = Path(sys.argv[1]).resolve()
violations = []
PROCESS_EVENTS = ("subprocess.Popen", "os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.fork")


def under_root(name) -> bool:
    try:
        return Path(name).resolve().is_relative_to(ROOT)
    except (TypeError, ValueError, OSError):
        return False


def hook(event, args):
    if event == "exec" and under_root(getattr(args[0], "co_filename", "")):
        violations.append(f"exec of {args[0].co_filename}")
    elif event == "compile" and (under_root(args[1]) or (isinstance(args[0], (str, bytes)) and b"IMPORTED.marker" in (args[0] if isinstance(args[0], bytes) else args[0].encode()))) and not parse_only():
        violations.append(f"compile of {args[1]}")
    elif event == "open" and isinstance(args[1], str) and any(m in args[1] for m in "wax+"):
        violations.append(f"open for writing: {args[0]}")
    elif event == "open" and isinstance(args[2], int) and args[2] & 0o3:  # os.open with O_WRONLY/O_RDWR
        violations.append(f"os.open for writing: {args[0]}")
    elif event.startswith("socket.") or event.startswith(PROCESS_EVENTS):
        violations.append(event)


sys.addaudithook(hook)

import astschema  # noqa: E402  (after the hook, so its own imports are watched too)

schema = astschema.scan([ROOT], jobs=1)  # one process: workers would not report to the hook
imported = sorted(
    name for name, module in list(sys.modules.items()) if under_root(getattr(module, "__file__", None) or "")
)
tables = {d.name: sorted(t.name for t in d.tables) for d in schema.databases}
print(json.dumps({"violations": violations, "imported": imported, "tables": tables}))
