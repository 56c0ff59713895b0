"""Exit codes and the errors that map onto them.

Exit codes are part of the CLI contract (documented in README.md):

    0  success (for `preview --expect-no-changes`: no changes)
    1  the operation ran and at least one resource failed, or the program raised
    2  invalid input: bad flags, project file, stack file or stack configuration, unknown stack; nothing was touched
    3  `--expect-no-changes` (preview, refresh) found changes, an unsettled interrupted create included;
       or `up --plan`: the saved plan no longer matches the state, the program or its inputs
    4  the stack is locked by another operation
    5  the state needs attention (not a usable state of the stack, wrong passphrase)
  130  interrupted by Ctrl-C (the calls in flight finished and were recorded; nothing new started)
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INVALID_INPUT = 2
EXIT_CHANGES_PRESENT = 3
EXIT_LOCKED = 4
EXIT_STATE = 5
EXIT_INTERRUPTED = 130


class EngineError(Exception):
    """An error the CLI reports as a message (no traceback) with a fixed exit code."""

    exit_code = EXIT_FAILED


class InvalidInputError(EngineError):
    """Bad user input, detected before anything outside the process was touched."""

    exit_code = EXIT_INVALID_INPUT


class StackLockedError(EngineError):
    exit_code = EXIT_LOCKED


class StateError(EngineError):
    exit_code = EXIT_STATE
