"""astschema: know the SQLAlchemy schema of a code base without running a line of it."""

__version__ = "0.1.0"
__all__ = ["check", "scan", "__version__"]


def __getattr__(name):
    # Imported on first use, so `python -m astschema --help` stays fast.
    if name == "scan":
        from .api import scan

        return scan
    if name == "check":
        from .checker import check

        return check
    raise AttributeError(name)
