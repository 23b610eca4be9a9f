"""One error tree for podnet, and the single place that maps errors to exit codes.

    PodnetError                 exit 1
    ├── FindingsError           exit 1   doctor: findings at or above --fail-on
    ├── InputError              exit 2   bad manifests or arguments: names file, object, field
    ├── UsageError              exit 2   a command-line value that cannot be understood
    ├── LabPrerequisiteError    exit 2   not root, or the kernel lacks a feature the lab needs
    ├── LabError                exit 3   a lab step failed (it names the step); the lab was torn down
    ├── HostPrerequisiteError   exit 2   a tool a host check runs (fio, etcd) is missing
    ├── HostError               exit 3   a check on this machine failed (it names the check)
    └── OutputError             exit 1   stdout refused the answer (disk full, short write)
"""

from __future__ import annotations

from dataclasses import dataclass


class PodnetError(Exception):
    """Base of every error podnet reports to a user as one clear message."""

    exit_code = 1


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where an object came from: file, document index and the object's kind/namespace/name."""

    file: str = "<input>"
    doc: int = 0
    kind: str = ""
    namespace: str = ""
    name: str = ""

    def object(self) -> str:
        if not self.kind:
            return ""
        ident = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {ident}" if ident else self.kind

    def where(self) -> str:
        loc = f"{self.file} (document {self.doc + 1})"
        obj = self.object()
        return f"{loc}, {obj}" if obj else loc


class InputError(PodnetError):
    """Input that podnet cannot accept; the message names the file, the object and the field."""

    exit_code = 2

    def __init__(self, source: SourceRef, field: str, message: str) -> None:
        self.source = source
        self.field = field
        self.message = message
        where = source.where()
        at = f", field {field}" if field else ""
        super().__init__(f"{where}{at}: {message}")


class FindingsError(PodnetError):
    """``doctor`` found something at or above ``--fail-on`` (its report is already printed)."""

    exit_code = 1


class UsageError(PodnetError):
    exit_code = 2


class LabPrerequisiteError(PodnetError):
    exit_code = 2


class LabError(PodnetError):
    exit_code = 3

    def __init__(self, step: str, message: str) -> None:
        self.step = step
        super().__init__(f"lab step {step!r} failed: {message}")


def exit_code_for(error: BaseException) -> int:
    """Map any error to the process exit code (unexpected errors are 1)."""
    if isinstance(error, PodnetError):
        return error.exit_code
    return 1


class HostPrerequisiteError(PodnetError):
    """A tool a host check runs (fio, etcd) is not installed."""

    exit_code = 2


class HostError(PodnetError):
    """A check on this machine failed; it names the check. What it created was removed."""

    exit_code = 3

    def __init__(self, check: str, message: str) -> None:
        self.check = check
        super().__init__(f"{check}: {message}")


class OutputError(PodnetError):
    """Writing the answer to stdout failed or stopped short: never a success (exit 0) with a
    truncated answer."""

    exit_code = 1
