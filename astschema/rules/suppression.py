"""The rule about suppressions themselves."""

from ..diagnostics import Severity
from .base import Invalid, Rule, Valid
from .scan import HEADER, MODEL


class UnusedSuppression(Rule):
    """A `# astschema: ignore[...]` comment that suppresses nothing.

    Suppressions go on the line a finding points at: `# astschema: ignore[AS301]` for one code
    (several: `ignore[AS301, AS302]`), bare `# astschema: ignore` for any. One that no longer
    matches a finding hides nothing but may hide the next mistake on that line. Fix: remove it
    (`python -m astschema fix` takes the unused codes out, and the comment if nothing is left).
    """

    code, name, severity = "AS001", "unused-suppression", Severity.WARNING
    VALID = (Valid("# astschema: ignore[AS102]\n" + HEADER + MODEL),)
    INVALID = (
        Invalid(HEADER + 'DATABASE_NAME = "x"  # astschema: ignore[AS102]\n' + MODEL,
                (("db_models.py", 3, 22),), {"select": ["AS001", "AS102"]},
                fixed=HEADER + 'DATABASE_NAME = "x"\n' + MODEL),
        Invalid("# astschema: ignore[AS102, AS401]\n" + HEADER + MODEL + "# keep  # astschema: ignore\n",
                (("db_models.py", 1, 1), ("db_models.py", 10, 9)), {"select": ["AS001", "AS102", "AS401"]},
                fixed="# astschema: ignore[AS102]\n" + HEADER + MODEL + "# keep\n"),
    )
    ANY = "any code"  # what a bare `# astschema: ignore` that suppresses nothing is said to name

    def check(self, context):
        return ()  # the check runner reports these: only it knows what each comment suppressed

    @classmethod
    def message(cls, unused: list[str]) -> str:
        return f"suppression of {', '.join(unused)} matches no finding on this line"

    @classmethod
    def unused(cls, message: str) -> list[str]:
        """The codes `message` (made by `message`) names."""
        return message.removeprefix("suppression of ").removesuffix(" matches no finding on this line").split(", ")

    def fix(self, module, places):
        """Unused codes come out of the comment (see `fix.unused_suppressions`)."""
        from ..fix import unused_suppressions

        return unused_suppressions(module, places)
