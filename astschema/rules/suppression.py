"""The rule about suppressions themselves."""

from ..diagnostics import Severity
from .base import Invalid, Rule, Valid
from .scan import HEADER, MODEL


class UnusedSuppression(Rule):
    """A `# astschema: ignore[...]` comment that suppresses nothing.

    Suppressions go on the line a finding points at: `# astschema: ignore[AS301]` for one code
    (several: `ignore[AS301, AS302]`), bare `# astschema: ignore` for any. One that no longer
    matches a finding hides nothing but may hide the next mistake on that line. Fix: remove it.
    """

    code, name, severity = "AS001", "unused-suppression", Severity.WARNING
    VALID = (Valid("# astschema: ignore[AS102]\n" + HEADER + MODEL),)
    INVALID = (Invalid(HEADER + 'DATABASE_NAME = "x"  # astschema: ignore[AS102]\n' + MODEL,
                       (("db_models.py", 3, 22),), {"select": ["AS001", "AS102"]}),)

    def check(self, context):
        return ()  # the check runner reports these: only it knows what each comment suppressed
