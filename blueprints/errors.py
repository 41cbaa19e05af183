"""The one base class of user errors. Each carries its exit code; the CLI catches this class once.

An internal bug is any other exception: it keeps its traceback.
"""

from __future__ import annotations

EXIT_INPUT, EXIT_TOOL, EXIT_DEPLOY, EXIT_VERIFY, EXIT_POLICY = 2, 3, 4, 5, 6


class UserError(Exception):
    """A problem the user can fix: bad input, a missing tool or credential, a failed deploy.

    `exit_code`: 2 bad input, 3 missing tool/credentials/emulator, 4 Terraform failed,
    5 verification failed, 6 the policy gate refused. `hint`: an optional second line."""

    exit_code: int = EXIT_INPUT

    def __init__(self, message: str, *, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


class ToolMissing(UserError):
    """A required external tool (terraform, checkov) or cloud credential is missing."""

    exit_code = EXIT_TOOL


class TargetNotAvailable(UserError):
    """The blueprint asks for something the target cannot do (an emulator it has not, bindings not installed)."""
