"""The live session: microphone -> recognizer -> coach -> voice -> speaker.

:class:`~.loop.LiveSession` is the core, fed audio chunks and polled with the time;
:mod:`.realtime` drives it from real devices on the real clock, :mod:`.demo` from a
scripted user on a virtual clock.
"""

from .loop import LiveSession, TranscriptEntry
from .settings import LiveSettings

__all__ = ["LiveSession", "LiveSettings", "TranscriptEntry"]
