"""Progress bars for long runs (tqdm), on the terminal the command line was started from.

Off unless the command line turns them on (`show_on`): never for the API, for output that is
piped, or with `--quiet`. A bar appears only once its stage has taken `DELAY` seconds, goes
where it was told even while a stored run's stderr is being captured, and is wiped when done,
so nothing of it stays in what the run printed.
"""

from __future__ import annotations

DELAY = 1.0  # seconds a stage runs before its bar appears: a quick run shows none

_stream = None  # where bars go; None: nowhere


def show_on(stream) -> None:
    """Draw bars on `stream` from now on (None: no more bars)."""
    global _stream
    _stream = stream


class _Silent:
    def update(self, count: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def bar(total: int, label: str, unit: str):
    """A bar counting `total` `unit`s, advanced by `update(count)` and ended by `close()` (none
    for nothing to count: an edited run does not import tqdm)."""
    if _stream is None or not total:
        return _Silent()
    from tqdm import tqdm

    return tqdm(total=total, desc=label, unit=f" {unit}", file=_stream, delay=DELAY, leave=False)


def track(iterable, total: int, label: str, unit: str):
    """`iterable`, advancing a bar by one for each item taken."""
    if _stream is None:
        return iterable
    shown = bar(total, label, unit)

    def each():
        try:
            for item in iterable:
                yield item
                shown.update()
        finally:
            shown.close()

    return each()
