"""Driving a :class:`~.loop.LiveSession` from real devices on the real clock.

The runner reads the microphone (blocking briefly on its queue), feeds the session and
polls it, until the session ends or the stop event is set (Ctrl-C, SIGTERM). A failed
microphone is closed, announced, and reopened by name every
``reconnect_interval`` seconds; it is back (and said to be) once it has delivered
``mic_trial`` seconds of audio, so one that opens and fails at once is retried without
a word more (each retry is logged). A failed speaker is reopened and swapped in; one
that fails again within ``speaker_trial`` seconds is the same loss, reopened without
a word more. The session keeps its place throughout. With no microphone at the start
(a USB microphone not plugged in when the Pi boots), the coach says so and waits for
one before it begins, instead of exiting to be restarted in silence. :func:`run_with_standby` runs
the sessions one after another on the same devices, with the standby between them
(``voicecoach run --standby``).

The microphone is reopened only while the coach is quiet, with the speaker's stream
stopped meanwhile (``OutputSource.paused``): with an output stream running, PortAudio
19.6 (ALSA) now and then crashes with SIGSEGV in Pa_OpenStream when an input stream
fails to open (a microphone listed but refusing), where it should report the failure.
In a bare sounddevice probe with tests/alsa_file_device.py's mu-law microphone, 9 of
60 processes making ten such opens each crashed with the output running, and none of
2100 opens with it stopped. ``voicecoach run`` opens the microphone before the speaker
at the start for the same reason.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from ..audio.chunk import AudioChunk
from ..audio.sinks import Sink
from ..dialogue import Coach
from ..errors import AudioDeviceError, DeviceMissing
from .loop import LiveSession

log = logging.getLogger(__name__)


class MicSource(Protocol):
    """What the runner needs of a microphone (:class:`~voicecoach.audio.sd_input.Microphone`)."""

    def open(self) -> None:
        """Open by the configured name; raise AudioDeviceError if it is not there."""
        ...

    def close(self) -> None:
        """Close (safe after a failure)."""
        ...

    def read(self, timeout: float = 0.05) -> list[AudioChunk]:
        """The chunks that arrived, waiting up to ``timeout`` for the first."""
        ...

    @property
    def fault(self) -> str | None:
        """Why the microphone is failing, or None."""
        ...


class OutputSource(Protocol):
    """How the runner checks and reopens the speaker."""

    def fault(self, sink: Sink) -> str | None:
        """Why ``sink`` is failing, or None."""
        ...

    def reopen(self, old: Sink) -> Sink:
        """Close ``old`` and open the device again (re-reading the device list)."""
        ...

    def paused(self, sink: Sink) -> AbstractContextManager[object]:
        """``sink``'s stream stopped for the duration (while the microphone opens)."""
        ...


class LiveRunner:
    """Runs one session on real time; see the module doc."""

    def __init__(
        self,
        session: LiveSession,
        mic: MicSource,
        stop: threading.Event,
        output: OutputSource | None = None,
        sleep: Callable[[float], None] = time.sleep,
        read_timeout: float = 0.02,
        mic_missing: DeviceMissing | None = None,
    ) -> None:
        """``mic_missing``: why the microphone could not be opened before the start, if
        it could not (the runner then waits for it, see the module doc)."""
        self.session = session
        self.mic = mic
        self.stop = stop
        self.output = output
        self.clock = session.clock
        self.sleep = sleep
        self.read_timeout = read_timeout
        self.mic_missing = mic_missing
        self.mic_down = mic_missing is not None
        self._trial: float | None = None
        """Seconds of audio the microphone delivered since it was reopened, until it is
        taken to work again (``LiveSettings.mic_trial``); None when not on trial."""
        self.output_down = False
        # The other microphones last named in the log while the chosen one is missing.
        self._others: tuple[str, ...] = () if mic_missing is None else mic_missing.present
        self._next_try = 0.0
        self._next_out = 0.0
        self._out_back_at = -math.inf  # when the speaker was last reopened
        self._out_quiet = False  # this loss of the speaker is the last one's, again

    def run(self) -> str:
        """Run until the session ends or ``stop`` is set; returns the session status."""
        try:
            if self.mic_missing is not None:
                missing = self.mic_missing
                self.session.device_missing(
                    "microphone", missing.message, chosen=missing.others_connected
                )
                while (self.mic_down or self._trial is not None) and not self.stop.is_set():
                    self.step()
                if self.stop.is_set():
                    return self.session.end()
            self.session.start()  # session time, and its start in the log, from now
            while not self.stop.is_set() and not self.session.finished:
                self.step()
        finally:
            status = self.session.end()
        return status

    def run_next(self, session: LiveSession) -> str:
        """Run ``session`` on the same devices once the one before it has ended (the
        standby between sessions, the session after it, :func:`run_with_standby`): a
        microphone lost or on trial is still tried as before, and said to be back by
        ``session``."""
        self.session = session
        self.mic_missing = None
        return self.run()

    def step(self) -> None:
        """One turn: read and feed audio (or try to get the microphone back), then poll."""
        if self.mic_down:
            self.sleep(self.read_timeout)
            self._try_mic()
        else:
            chunks = self.mic.read(self.read_timeout)
            if self.session.begun:  # waiting to begin, nothing is listened for
                for chunk in chunks:
                    self.session.feed(chunk)
            fault = self.mic.fault
            if fault is not None:
                self._mic_failed(fault)
            elif self._trial is not None:
                self._trial += sum(chunk.duration for chunk in chunks)
                if self._trial >= self.session.settings.mic_trial:
                    self._trial = None
                    self.session.device_back("microphone")
        self._check_output()
        self.session.poll()

    def _mic_failed(self, reason: str) -> None:
        """The microphone failed: close it and try again later. The loss is said once:
        a microphone that fails again before it worked (on trial) is only logged."""
        self.mic.close()
        self.mic_down = True
        interval = self.session.settings.reconnect_interval
        self._next_try = self.clock() + interval
        if self._trial is None:
            self.session.device_lost("microphone", reason)
            return
        log.info(
            "the microphone failed again after %.2f s of audio (%s); retrying in %g s",
            self._trial,
            reason,
            interval,
        )
        self._trial = None

    def _try_mic(self) -> None:
        now = self.clock()
        if now < self._next_try:
            return
        # Opening it stops the speaker's stream, and a rescan restarts the speaker:
        # only while the coach is quiet (nothing playing, and nothing on its way to the
        # speaker, such as the notice). Without a speaker to stop, at once.
        if self.output is not None and (
            self.session.sink.is_playing() or self.session.speaker.busy
        ):
            return
        self._next_try = now + self.session.settings.reconnect_interval
        try:
            self._open_mic()
        except AudioDeviceError as err:
            log.info("microphone still unavailable: %s", err)
            self._name_others(err)
            # A replugged card is only seen after re-reading the device list.
            if self.output is None:
                return
            try:
                sink = self.output.reopen(self.session.sink)
            except AudioDeviceError as err2:
                # The speaker is away too (one card with both): its stream is closed
                # now, which _check_output sees and reopens in its turn.
                log.info("speaker unavailable after a device rescan: %s", err2)
                return
            self.session.replace_sink(sink)
            try:
                self._open_mic()
            except AudioDeviceError as err2:
                log.info("microphone still unavailable after a device rescan: %s", err2)
                self._name_others(err2)
                return
        # Back only once it delivers audio (step): some open and fail at once.
        log.info("microphone reopened; waiting for its audio")
        self.mic_down = False
        self._trial = 0.0

    def _open_mic(self) -> None:
        """Open the microphone; with the speaker's stream stopped meanwhile, if there is
        a speaker to stop (see the module doc)."""
        if self.output is None:
            self.mic.open()
            return
        with self.output.paused(self.session.sink):
            self.mic.open()

    def _name_others(self, err: AudioDeviceError) -> None:
        """The microphone chosen is still missing: if the others connected are not the
        ones last named (another was plugged in, which may be the one meant under
        another name), name them in the log, with how to choose one."""
        if isinstance(err, DeviceMissing) and err.others_connected and err.present != self._others:
            self._others = err.present
            log.warning("%s; still waiting for the one chosen", err.message)

    def _check_output(self) -> None:
        if self.output is None:
            return
        fault = self.output.fault(self.session.sink)
        if fault is None:
            return
        if not self.output_down:
            self.output_down = True
            now = self.clock()
            # Failed again before it had played a trial's worth: the same loss, in
            # silence, and no second "the speaker is back" when it is reopened.
            self._out_quiet = now < self._out_back_at + self.session.settings.speaker_trial
            if self._out_quiet:
                log.info(
                    "the speaker failed again %.2f s after it was reopened (%s)",
                    now - self._out_back_at,
                    fault,
                )
            else:
                self.session.device_lost("speaker", fault)
            self._next_out = now
        if self.clock() < self._next_out:
            return
        self._next_out = self.clock() + self.session.settings.reconnect_interval
        # Reopening re-reads the device list, which frees every stream still open: the
        # microphone's is closed first. Closed after, its stale handle named whatever
        # stream had taken its memory, the new speaker's, and closed that one: the
        # coach fell silent for good while the sink still looked active.
        listening = not self.mic_down
        if listening:
            self.mic.close()
        try:
            sink = self.output.reopen(self.session.sink)
        except AudioDeviceError as err:
            log.info("speaker still unavailable: %s", err)
            if listening:
                self._reopen_mic(self.mic.open)  # no speaker's stream runs to pause
            return
        self.output_down = False
        self.session.replace_sink(sink)
        if listening:
            self._reopen_mic(self._open_mic)
        self._out_back_at = self.clock()
        if not self._out_quiet:
            self.session.device_back("speaker")

    def _reopen_mic(self, open_mic: Callable[[], None]) -> None:
        """Open the microphone again after a device rescan closed it; one that will not
        open is a lost microphone."""
        try:
            open_mic()
        except AudioDeviceError as err:
            self._mic_failed(str(err))


def run_with_standby(
    runner: LiveRunner,
    new_session: Callable[[], LiveSession],
    new_standby: Callable[[bool], LiveSession] | None = None,
    ended: Callable[[str], None] | None = None,
) -> str:
    """Run ``runner``'s session; with ``new_standby``, stay between sessions.

    After each session the coach ended itself (goodbye, or the safety questions
    declined), the standby (a session of :class:`~voicecoach.standby.Standby`, from
    ``new_standby``, told whether the session ended because of pain:
    :attr:`Coach.ended_by_pain <voicecoach.dialogue.Coach.ended_by_pain>`) runs on the same
    devices, recognizer and voice; when it ends with a "yes" to its question, a new
    session from ``new_session`` begins, and so on until ``runner.stop`` is set
    (Ctrl-C, SIGTERM). Without ``new_standby``, only the first session. Each
    session's log is closed once it has ended, and ``ended`` is told its status.
    Returns the status of the last session."""
    session = runner.session
    while True:
        try:
            status = runner.run() if session is runner.session else runner.run_next(session)
        finally:
            if session.recorder is not None:
                session.recorder.log.close()
        if ended is not None:
            ended(status)
        if new_standby is None or runner.stop.is_set():
            return status
        log.info("session ended (%s); standing by", status)
        coach = session.coach
        standby = new_standby(isinstance(coach, Coach) and coach.ended_by_pain)
        runner.run_next(standby)
        if runner.stop.is_set() or not standby.coach.finished:
            return status
        log.info("a new session was asked for")
        session = new_session()


class SoundDeviceOutput:
    """Checks and reopens a :class:`~voicecoach.audio.sd_output.SoundDeviceSink` by name."""

    def __init__(
        self, device: int | str | None, rate: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.device = device
        self.rate = rate
        self.clock = clock

    def open(self) -> Sink:
        """Open the configured output device."""
        from ..audio.devices import find_device
        from ..audio.sd_output import SoundDeviceSink

        info = find_device(self.device, "output")
        return SoundDeviceSink(info.index, self.rate, self.clock)

    def fault(self, sink: Sink) -> str | None:
        """Why ``sink`` is failing (its stream stopped by itself), or None."""
        if getattr(sink, "active", True):
            return None
        return "the output stream stopped (device error or unplugged)"

    def reopen(self, old: Sink) -> Sink:
        """Close ``old``, re-read the device list, open the device again."""
        from ..audio.devices import refresh

        try:
            old.close()
        except Exception as err:  # a vanished device may refuse to close
            log.debug("closing the old output: %s", err)
        refresh()
        return self.open()

    def paused(self, sink: Sink) -> AbstractContextManager[object]:
        """``sink``'s stream stopped, and started again after
        (:meth:`~voicecoach.audio.sd_output.SoundDeviceSink.paused`); a sink with no
        stream of its own is left as it is."""
        pause = getattr(sink, "paused", None)
        return pause() if callable(pause) else contextlib.nullcontext()


__all__ = ["LiveRunner", "MicSource", "OutputSource", "SoundDeviceOutput", "run_with_standby"]
