"""Errors a person can act on.

Every error has a short ``code`` (stable, for logs and exit codes) and a message
that says what went wrong and what to do. The CLI prints the message on one line
and exits with ``exit_code``; the live runtime speaks a short fallback instead.
"""

from __future__ import annotations


class VoicecoachError(Exception):
    """Base class: ``code`` names the failure, ``str(err)`` says what to do."""

    code = "error"
    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RoutineError(VoicecoachError):
    """A routine file is missing, unreadable or invalid."""

    code = "routine"
    exit_code = 3


class ModelError(VoicecoachError):
    """A speech model (recognizer or voice) is missing or broken."""

    code = "model"
    exit_code = 4


class AudioDeviceError(VoicecoachError):
    """An audio device is missing, busy or failed."""

    code = "audio-device"
    exit_code = 5


class DeviceMissing(AudioDeviceError):
    """No connected device is the one asked for (none at all, or none by that name or
    number): it may yet be plugged in. One that is there but will not open is an
    :class:`AudioDeviceError`."""

    def __init__(
        self, message: str, wanted: int | str | None = None, present: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.wanted = wanted
        """The number or (part of the) name asked for; None for the default device."""
        self.present = present
        """The names of the devices of the kind asked for that are connected."""

    @property
    def others_connected(self) -> bool:
        """True when the device asked for by name or number is not there but others of
        its kind are: it is unplugged, or the name or number is wrong."""
        return self.wanted is not None and bool(self.present)


class EngineUnavailable(VoicecoachError):
    """An optional engine's Python package is not installed."""

    code = "engine-unavailable"
    exit_code = 6


class DownloadError(VoicecoachError):
    """A model download failed or produced a corrupt archive."""

    code = "download"
    exit_code = 7


class SessionLogError(VoicecoachError):
    """The session log database cannot be opened or written."""

    code = "session-log"
    exit_code = 8


class NotASessionLog(SessionLogError):
    """The file given as the session log is something else (not an SQLite database, or
    another program's); it is left as it is."""

    code = "not-a-session-log"

    def __init__(self, path: object, detail: str) -> None:
        super().__init__(
            f"{path} is not a session log ({detail}); it was left as it is. Give --log "
            "another path (a new file, or a voicecoach session log), or leave --log out "
            "for the default log."
        )
        self.detail = detail


class SessionLogDamaged(SessionLogError):
    """The session log file is damaged (malformed, or not a database); it is left as it is."""

    code = "session-log-damaged"

    def __init__(self, path: object, detail: str) -> None:
        super().__init__(
            f"the session log {path} is damaged ({detail}); it was left as it is. "
            f"To start a new log, move it aside: mv '{path}' '{path}.damaged' "
            "('voicecoach run' and 'voicecoach text' do that by themselves)."
        )
        self.detail = detail


class SessionLogTooNew(SessionLogError):
    """The session log was written by a newer voicecoach, in a format this one does not
    know; it is left as it is."""

    code = "session-log-too-new"

    def __init__(self, path: object, found: int, known: int) -> None:
        super().__init__(
            f"the session log {path} was written by a newer voicecoach (log format {found}; "
            f"this one knows format {known} and older); it was left as it is. Update "
            "voicecoach to use it."
        )
        self.found = found
