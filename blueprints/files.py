"""Reading a file that arrived from a pull request: a regular file, at most a limit, never a hang.

A blueprint, the `--base` blueprint, a plan given with `--plan` and the plans in `--plan-dir` are
untrusted. A path among them can be a symlink to `/dev/zero` or `/dev/urandom` (a read that never
ends and eats memory), a named pipe (a read that waits forever for a writer), a socket, a device or
a directory. `read_untrusted` refuses all of them before it reads a byte: it checks the file's kind
with `stat`, opens without blocking, checks the kind again on the open descriptor (the path may have
been swapped in between), and reads at most `limit + 1` bytes.
"""

from __future__ import annotations

import os
import stat

from mlops_blueprint.blueprints.errors import UserError
from mlops_blueprint.blueprints.text import clip, terminal_safe

# The largest plan JSON (`terraform show -json`) `check --plan` and `review --plan-dir` read. A plan of
# one environment of a blueprint is a few megabytes; this leaves room for a large estate.
MAX_PLAN_BYTES = 128 * 1024 * 1024

_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a named pipe (FIFO)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class UnreadableFile(UserError):
    """An untrusted input file that is missing, not a regular file, too big or unreadable (exit 2).

    `str()` is `path:line:col: reason` (line 1, column 1: the problem is the file, not a place in it);
    `reason` alone is for callers that put the location in their own format."""

    def __init__(self, path: str, reason: str, *, missing: bool = False):
        self.path, self.reason, self.missing = path, reason, missing
        super().__init__(f"{path}:1:1: {reason}")


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def _shown(path: str) -> str:
    return clip(terminal_safe(path))


def read_untrusted(path: str | os.PathLike[str], limit: int, what: str) -> bytes:
    """The bytes of the regular file at `path` (symlinks to regular files are followed), at most `limit`.

    `what` names the file in messages ("the blueprint", "the plan"). Raises `UnreadableFile` for a
    missing file, anything that is not a regular file (directory, named pipe, device such as
    /dev/zero, socket), a file larger than `limit`, and a file that cannot be read."""
    p = os.fspath(path)
    shown = _shown(p)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise UnreadableFile(shown, f"{what} file not found", missing=True) from None
    except OSError as exc:
        raise UnreadableFile(shown, f"cannot read {what}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise UnreadableFile(shown, _not_regular(p, st.st_mode, what))
    if st.st_size > limit:
        raise UnreadableFile(shown, f"{what} is {st.st_size} bytes; the limit is {limit}")
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(p, flags)
    except OSError as exc:
        raise UnreadableFile(shown, f"cannot read {what}: {exc.strerror or exc}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # swapped between the stat and the open
            raise UnreadableFile(shown, _not_regular(p, mode, what))
        chunks: list[bytes] = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise UnreadableFile(shown, f"cannot read {what}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:  # it grew after the stat
        raise UnreadableFile(shown, f"{what} is larger than {limit} bytes; the limit is {limit}")
    return data


def _not_regular(p: str, mode: int, what: str) -> str:
    kind = _kind(mode)
    link = ""
    if os.path.islink(p):
        link = f"a symlink to {_shown(os.path.realpath(p))}, "
    return f"{what} must be a regular file; this is {link}{kind}, which is not read"
