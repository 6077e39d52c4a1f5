"""What the audit hooks of audit_run.py and audit_scan.py share."""

import ast
import sys

AST_PARSE = ast.parse.__code__


def parse_only(depth: int = 2) -> bool:
    """Whether the `compile` event being audited is `ast.parse` asking for a syntax tree only
    (PyCF_ONLY_AST): no code object is made, so nothing can run. `depth` is the number of
    frames between the caller of this function and the frame that called compile()."""
    frame = sys._getframe(depth)
    return frame.f_code is AST_PARSE and bool(frame.f_locals.get("flags", 0) & ast.PyCF_ONLY_AST)
