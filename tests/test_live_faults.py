"""Device faults in the real-time runner: the microphone fails, comes back, the session goes on."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from tests.test_live_loop import EPOCH, Rig
from voicecoach import script
from voicecoach.audio.aec import AecSettings
from voicecoach.audio.chunk import AudioChunk
from voicecoach.audio.devices import DeviceInfo, choose_device
from voicecoach.audio.sinks import MemorySink, Sink, VirtualClock
from voicecoach.cli.history_cmd import describe
from voicecoach.commands import Intent
from voicecoach.dialogue import State
from voicecoach.errors import AudioDeviceError, DeviceMissing
from voicecoach.runtime.loop import (
    FALLBACK_TEXTS,
    MIC_BACK,
    MIC_CHOSEN_MISSING,
    MIC_LOST,
    MIC_MISSING,
    SPEAKER_BACK,
)
from voicecoach.runtime.realtime import LiveRunner
from voicecoach.session import NOT_BEGUN

NO_MIC = DeviceMissing("no microphone")
"""Why the runner starts without a microphone: none is connected."""


class FlakyMic:
    """Delivers a quiet room's noise on a virtual clock; its stream dies at ``dies_at``
    and the device can be opened again from ``back_at``. (Digital silence would be a
    muted microphone, which the coach says it hears nothing from.)"""

    def __init__(self, clock: VirtualClock, dies_at: float, back_at: float) -> None:
        self.clock = clock
        self.dies_at = dies_at
        self.back_at = back_at
        self.opened = 0
        self.is_open = True
        self.dead = False

    def open(self) -> None:
        if self.clock() < self.back_at:
            raise AudioDeviceError("no microphone whose name contains 'USB'")
        self.opened += 1
        self.is_open, self.dead = True, False

    def close(self) -> None:
        self.is_open = False

    def read(self, timeout: float = 0.05) -> list[AudioChunk]:
        t = self.clock()
        self.clock.set(t + timeout)
        if self.dead or not self.is_open:
            return []
        if self.dies_at <= t < self.back_at:
            self.dead = True
            return []
        frames = int(round(timeout * 16_000))
        noise = np.random.default_rng(int(t * 1000)).normal(0, 30, frames)  # about -60 dBFS
        return [AudioChunk(noise.astype("<i2").tobytes(), 16_000, 2, 1, t)]

    @property
    def fault(self) -> str | None:
        return "the microphone stream ended (device error or unplugged)" if self.dead else None


def run_steps(runner: LiveRunner, clock: VirtualClock, until: float) -> None:
    while clock() < until and not runner.session.finished:
        runner.step()


def run_for(runner: LiveRunner, seconds: float) -> str:
    """``runner.run()`` until the virtual clock reaches ``seconds``; the session status."""
    clock = runner.session.clock
    assert isinstance(clock, VirtualClock)

    def sleep(s: float) -> None:
        clock.set(clock() + s)

    def step() -> None:
        if clock() > seconds:
            runner.stop.set()
        LiveRunner.step(runner)

    runner.sleep = sleep
    runner.step = step  # type: ignore[method-assign]
    return runner.run()


def test_the_microphone_fails_and_comes_back_and_the_session_keeps_its_place(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path)
    mic = FlakyMic(rig.clock, dies_at=70.0, back_at=75.0)
    runner = LiveRunner(
        rig.session, mic, threading.Event(), sleep=lambda s: rig.clock.set(rig.clock() + s)
    )
    rig.session.start()
    run_steps(runner, rig.clock, 69.0)
    assert rig.coach.state is State.ASK_CONSENT
    run_steps(runner, rig.clock, 71.0)
    assert runner.mic_down
    assert [line["text"] for line in rig.kinds("said") if line.get("fallback")] == [MIC_LOST]
    run_steps(runner, rig.clock, 78.0)  # retried every 2 s; back at 75
    assert not runner.mic_down and mic.opened == 1
    said = [line["text"] for line in rig.kinds("said") if line.get("fallback")]
    assert said == [MIC_LOST, MIC_BACK]
    assert rig.coach.state is State.ASK_CONSENT  # nothing was lost
    rig.run_until_quiet()
    # Heard through the reopened microphone.
    yes_at = rig.clock() + 1.0
    rig.say_at(Intent.YES, "yes", yes_at)
    run_steps(runner, rig.clock, yes_at + 0.5)
    assert rig.coach.state is State.ASK_PAIN_FREE  # on to the acute pain question
    faults = [line["text"] for line in rig.kinds("fault")]
    assert faults[0].startswith("microphone: the microphone stream ended")


class MutedMic(FlakyMic):
    """A :class:`FlakyMic` whose capture is switched off until ``unmuted_at``: its stream
    runs, delivering exact zeros."""

    def __init__(self, clock: VirtualClock, unmuted_at: float) -> None:
        super().__init__(clock, dies_at=float("inf"), back_at=0.0)
        self.unmuted_at = unmuted_at

    def read(self, timeout: float = 0.05) -> list[AudioChunk]:
        chunks = super().read(timeout)
        if self.clock() < self.unmuted_at:
            return [replace(c, audio=bytes(len(c.audio))) for c in chunks]
        return chunks


def test_a_muted_microphone_is_said_to_be_and_its_sound_coming_back_too(tmp_path: Path) -> None:
    # Its stream ran on, every chunk zeros: the coach asked and asked again, with no
    # word of why it heard nothing.
    rig = Rig(tmp_path)
    mic = MutedMic(rig.clock, unmuted_at=40.0)
    runner = LiveRunner(
        rig.session, mic, threading.Event(), sleep=lambda s: rig.clock.set(rig.clock() + s)
    )
    rig.session.start()
    run_steps(runner, rig.clock, 39.0)
    said = [line for line in rig.kinds("said") if line.get("fallback")]
    assert [line["text"] for line in said] == [script.MIC_MUTED]
    assert 10.0 <= said[0]["t"] < 12.0  # ten seconds of the introduction heard as zeros
    faults = [line["text"] for line in rig.kinds("fault")]
    assert faults == ["microphone: only digital silence for 10 s"]
    run_steps(runner, rig.clock, 41.0)
    said = [line["text"] for line in rig.kinds("said") if line.get("fallback")]
    assert said == [script.MIC_MUTED, MIC_BACK]
    rig.run_until_quiet()
    yes_at = rig.clock() + 1.0
    rig.say_at(Intent.YES, "yes", yes_at)
    run_steps(runner, rig.clock, yes_at + 0.5)
    assert rig.coach.state is State.ASK_PAIN_FREE


def test_a_quiet_microphone_is_not_taken_for_a_muted_one(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    runner = LiveRunner(
        rig.session,
        FlakyMic(rig.clock, dies_at=float("inf"), back_at=0.0),
        threading.Event(),
        sleep=lambda s: rig.clock.set(rig.clock() + s),
    )
    rig.session.start()
    run_steps(runner, rig.clock, 60.0)
    assert not [line for line in rig.kinds("said") if line.get("fallback")]


class StillbornMic(FlakyMic):
    """A :class:`FlakyMic` that, until ``works_from``, opens and then fails at once: its
    stream delivers one block and ends (a microphone half plugged in, or whose driver
    gives up as soon as it starts)."""

    def __init__(
        self, clock: VirtualClock, dies_at: float, back_at: float, works_from: float
    ) -> None:
        super().__init__(clock, dies_at, back_at)
        self.works_from = works_from

    def read(self, timeout: float = 0.05) -> list[AudioChunk]:
        chunks = super().read(timeout)
        if self.clock() < self.works_from and self.opened and chunks:
            self.dead = True
        return chunks


def test_a_microphone_that_opens_and_fails_at_once_is_announced_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """It fails at 70 s; from 72 s it opens every 2 s and fails at once, until 78 s: the
    user hears one notice for the loss and one when it works again, not a pair each
    retry; the retries are logged."""
    rig = Rig(tmp_path)
    mic = StillbornMic(rig.clock, dies_at=70.0, back_at=72.0, works_from=78.0)
    runner = LiveRunner(
        rig.session, mic, threading.Event(), sleep=lambda s: rig.clock.set(rig.clock() + s)
    )
    rig.session.start()
    with caplog.at_level("INFO", logger="voicecoach.runtime.realtime"):
        run_steps(runner, rig.clock, 90.0)
    assert mic.opened >= 4  # at about 72, 74, 76 and 78 s
    said = [line["text"] for line in rig.kinds("said") if line.get("fallback")]
    assert said == [MIC_LOST, MIC_BACK]
    back = next(line for line in rig.lines if line["text"] == "microphone: back")
    assert rig.session.origin + back["t"] >= 79.0  # after a second of its audio
    retries = [r for r in caplog.records if "failed again" in r.getMessage()]
    assert len(retries) == mic.opened - 1
    assert [line["text"] for line in rig.kinds("fault")][0].startswith("microphone: the")
    assert len(rig.kinds("fault")) == 2  # lost, back: the retries are not faults told
    assert not runner.mic_down and rig.coach.state is State.ASK_CONSENT


def test_waiting_to_begin_a_microphone_that_opens_and_fails_at_once_is_not_back(
    tmp_path: Path,
) -> None:
    """Plugged in at 9 s but failing at once until 15 s: the coach says it hears again,
    and begins, only when it works."""
    rig = Rig(tmp_path)
    mic = StillbornMic(rig.clock, dies_at=1e9, back_at=9.0, works_from=15.0)
    mic.is_open = False
    runner = LiveRunner(rig.session, mic, threading.Event(), mic_missing=NO_MIC)
    assert run_for(runner, 30.0) == "interrupted"
    said = [line["text"] for line in rig.kinds("said")]
    assert said[:3] == [MIC_MISSING, MIC_BACK, script.intro(rig.coach.routine)[0]]
    assert said.count(MIC_BACK) == 1
    assert rig.session.origin >= 16.0
    assert mic.opened >= 3


class DyingOutput:
    """A speaker whose first sink stops at ``dies_at``; reopening gives a fresh sink."""

    def __init__(self, clock: VirtualClock, dies_at: float) -> None:
        self.clock = clock
        self.dies_at = dies_at
        self.reopened: list[Sink] = []

    def fault(self, sink: Sink) -> str | None:
        if not self.reopened and self.clock() >= self.dies_at:
            return "the output stream stopped"
        return None

    def reopen(self, old: Sink) -> Sink:
        new = MemorySink(22_050, self.clock)
        self.reopened.append(new)
        return new

    def paused(self, sink: Sink) -> contextlib.nullcontext[None]:
        return contextlib.nullcontext()


def run_with_speaker(rig: Rig, output: DyingOutput, until: float) -> None:
    """Start the rig's session and run it to ``until`` with a working microphone and
    ``output`` as the speaker to check and reopen."""
    mic = FlakyMic(rig.clock, dies_at=1e9, back_at=0.0)
    runner = LiveRunner(
        rig.session,
        mic,
        threading.Event(),
        output=output,
        sleep=lambda s: rig.clock.set(rig.clock() + s),
    )
    rig.session.start()
    run_steps(runner, rig.clock, until)


class FlappingOutput(DyingOutput):
    """A speaker whose sink fails at ``dies_at``, and each reopened one 0.5 s after it
    opens, ``flaps`` times; then one that keeps working (a loose USB plug)."""

    def __init__(self, clock: VirtualClock, dies_at: float, flaps: int) -> None:
        super().__init__(clock, dies_at)
        self.flaps = flaps
        self._opened_at = 0.0

    def fault(self, sink: Sink) -> str | None:
        if not self.reopened:
            return "the output stream stopped" if self.clock() >= self.dies_at else None
        if len(self.reopened) <= self.flaps and self.clock() >= self._opened_at + 0.5:
            return "the output stream stopped"
        return None

    def reopen(self, old: Sink) -> Sink:
        self._opened_at = self.clock()
        return super().reopen(old)


def test_a_speaker_that_fails_again_at_once_is_said_back_once(tmp_path: Path) -> None:
    """A loose plug: the speaker fails, and each time it is reopened it fails again
    within half a second, three times, before it holds. The coach said "the speaker
    is back" at every reopen, four times in eight seconds; once is what happened."""
    rig = Rig(tmp_path)
    output = FlappingOutput(rig.clock, dies_at=1.0, flaps=3)
    run_with_speaker(rig, output, 30.0)
    assert len(output.reopened) == 4
    said = [line["text"] for line in rig.kinds("said")]
    assert said.count(SPEAKER_BACK) == 1
    faults = [line["text"] for line in rig.kinds("fault")]
    assert faults.count("speaker: back") == 1


def test_a_failed_speaker_is_reopened_and_the_coach_is_not_left_waiting(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    output = DyingOutput(rig.clock, dies_at=1.0)  # during the introduction
    run_with_speaker(rig, output, 40.0)
    assert len(output.reopened) == 1
    assert rig.session.tap.inner is output.reopened[0]
    said = [line["text"] for line in rig.kinds("said")]
    assert SPEAKER_BACK in said
    # The introduction cut by the dead sink was said again, the safety text to the end,
    # before the coach asked on.
    safety = script.intro(rig.coach.routine)[-1]
    assert said.count(safety) == 2
    assert said.index(script.CONSENT_QUESTION) > len(said) - 1 - said[::-1].index(safety)
    assert rig.coach.state is State.ASK_CONSENT


class UnpluggedCard:
    """Microphone and speaker on one USB card, unplugged at ``gone_at`` and plugged in
    again at ``back_at``: the speaker's stream stops with it, a sink closed by
    :meth:`reopen` reports its stream stopped, and opening the speaker fails while the
    card is away (as :class:`~voicecoach.runtime.realtime.SoundDeviceOutput` does)."""

    def __init__(self, clock: VirtualClock, gone_at: float, back_at: float) -> None:
        self.clock = clock
        self.gone_at = gone_at
        self.back_at = back_at
        self.first: Sink | None = None
        self.closed: list[Sink] = []
        self.reopened: list[Sink] = []

    def fault(self, sink: Sink) -> str | None:
        self.first = self.first or sink
        gone = sink is self.first and self.clock() >= self.gone_at
        return "the output stream stopped" if gone or sink in self.closed else None

    def reopen(self, old: Sink) -> Sink:
        self.closed.append(old)
        if self.clock() < self.back_at:
            raise DeviceMissing("no speaker whose name contains 'USB PnP'", "USB PnP")
        new = MemorySink(22_050, self.clock)
        self.reopened.append(new)
        return new

    def paused(self, sink: Sink) -> contextlib.nullcontext[None]:
        return contextlib.nullcontext()


def test_a_card_with_microphone_and_speaker_unplugged_and_back_keeps_the_session(
    tmp_path: Path,
) -> None:
    """The card that has both the microphone and the speaker is unplugged while the
    coach waits, and plugged in again: the session keeps its place. A try to open the
    microphone re-reads the device list, which reopens the speaker; that failing too
    (the card is away) ended the session with the error."""
    rig = Rig(tmp_path)
    rig.run(until=1.0)
    rig.run_until_quiet()
    assert rig.coach.state is State.ASK_CONSENT  # the coach waits for an answer
    gone_at = rig.clock() + 1.0
    mic = FlakyMic(rig.clock, dies_at=gone_at, back_at=gone_at + 20.0)
    card = UnpluggedCard(rig.clock, gone_at, back_at=gone_at + 20.0)
    runner = LiveRunner(
        rig.session,
        mic,
        threading.Event(),
        output=card,
        sleep=lambda s: rig.clock.set(rig.clock() + s),
    )
    run_steps(runner, rig.clock, gone_at + 40.0)
    assert card.reopened and not runner.output_down
    assert not runner.mic_down
    said = [line["text"] for line in rig.kinds("said") if line.get("fallback")]
    assert said[0] == MIC_LOST and SPEAKER_BACK in said and said[-1] == MIC_BACK
    assert rig.coach.state is State.ASK_CONSENT  # nothing was lost


class PausingOutput:
    """A speaker that works, whose stream the runner can pause (as
    :meth:`~voicecoach.audio.sd_output.SoundDeviceSink.paused` stops a real one)."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.is_paused = False
        self.pauses: list[float] = []
        """Clock times the stream was stopped."""

    def fault(self, sink: Sink) -> None:
        return None

    def reopen(self, old: Sink) -> Sink:
        return MemorySink(22_050, self.rig.clock)

    @contextlib.contextmanager
    def paused(self, sink: Sink) -> Iterator[None]:
        assert sink is self.rig.session.sink and not self.is_paused
        self.pauses.append(self.rig.clock())
        self.is_paused = True
        try:
            yield
        finally:
            self.is_paused = False


class WatchedMic(FlakyMic):
    """A :class:`FlakyMic` that notes, at each open, whether the speaker's stream was
    stopped and whether the coach's audio was playing."""

    def __init__(self, rig: Rig, output: PausingOutput, dies_at: float, back_at: float):
        super().__init__(rig.clock, dies_at, back_at)
        self.rig = rig
        self.output = output
        self.opens: list[tuple[float, bool, bool]] = []
        """(clock time, the speaker's stream stopped, the coach's audio playing)."""

    def open(self) -> None:
        playing = self.rig.session.sink.is_playing()
        self.opens.append((self.clock(), self.output.is_paused, playing))
        super().open()


def test_the_microphone_is_reopened_only_with_the_speakers_stream_stopped(
    tmp_path: Path,
) -> None:
    """Lost mid-session and reopened: each try to open it (it is back from 72 s, while
    the 'I can't hear you' notice still plays) waits until the coach is quiet and stops
    the speaker's stream meanwhile; PortAudio 19.6 can crash opening a stream, when
    the open fails, while another runs. The notice is heard whole."""
    rig = Rig(tmp_path)
    output = PausingOutput(rig)
    mic = WatchedMic(rig, output, dies_at=70.0, back_at=72.0)
    runner = LiveRunner(
        rig.session,
        mic,
        threading.Event(),
        output,
        sleep=lambda s: rig.clock.set(rig.clock() + s),
    )
    rig.session.start()
    run_steps(runner, rig.clock, 90.0)
    said = [line["text"] for line in rig.kinds("said") if line.get("fallback")]
    assert said == [MIC_LOST, MIC_BACK]
    notice = [seg for seg in rig.sink.segments if seg.utterance_id == -1]
    assert notice and not any(seg.stopped for seg in notice)
    assert mic.opens, "never reopened"
    assert all(stopped and not playing for _, stopped, playing in mic.opens), mic.opens
    assert mic.opens[0][0] >= notice[-1].end(rig.sink.rate)  # after the notice
    assert len(output.pauses) == len(mic.opens)
    assert not output.is_paused and not runner.mic_down


def test_stop_event_ends_the_session_saved(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    stop = threading.Event()
    mic = FlakyMic(rig.clock, dies_at=1e9, back_at=0.0)

    def sleep(s: float) -> None:
        rig.clock.set(rig.clock() + s)

    runner = LiveRunner(rig.session, mic, stop, sleep=sleep)
    threading.Timer(0.05, stop.set).start()
    assert runner.run() == "interrupted"
    assert rig.log.sessions()[0].status == "interrupted"


def test_with_no_microphone_at_the_start_the_coach_says_so_and_begins_when_one_comes(
    tmp_path: Path,
) -> None:
    rig = Rig(tmp_path)
    mic = FlakyMic(rig.clock, dies_at=1e9, back_at=9.0)  # plugged in 9 s after the start
    mic.is_open = False
    runner = LiveRunner(rig.session, mic, threading.Event(), mic_missing=NO_MIC)
    assert run_for(runner, 30.0) == "interrupted"
    said = [line["text"] for line in rig.kinds("said")]
    assert said[:2] == [MIC_MISSING, MIC_BACK]
    # The introduction came only once the microphone was there to answer it.
    assert said[2] == script.intro(rig.coach.routine)[0]
    assert rig.session.origin >= 9.0
    assert mic.opened == 1
    assert rig.kinds("fault")[0]["text"] == "microphone: no microphone"


def test_the_wait_for_a_microphone_is_not_session_time(tmp_path: Path) -> None:
    """Ten minutes without a microphone, then it comes: the session's times (the
    transcript's, the commands' in the log), its start in the log and its length count
    from when the coach began, not from when it began to wait."""
    rig = Rig(tmp_path)
    mic = FlakyMic(rig.clock, dies_at=1e9, back_at=600.0)
    mic.is_open = False
    rig.say_at(Intent.YES, "yes", 625.0)  # the doctor question is asked by then
    runner = LiveRunner(rig.session, mic, threading.Event(), mic_missing=NO_MIC)
    assert run_for(runner, 700.0) == "interrupted"
    began = rig.session.origin
    assert 600.0 <= began < 603.0  # at the first look for it after it came
    lines = rig.lines
    assert [(line["t"], line["text"]) for line in lines[:3]] == [
        (0.0, "microphone: no microphone"),
        (0.0, MIC_MISSING),
        (0.0, "microphone: back"),
    ]
    assert [line["t"] for line in lines] == sorted(line["t"] for line in lines)
    [heard] = rig.kinds("heard")
    # Acted on once the recognizer has heard it: the echo canceller runs its lead
    # behind the clock (a memory sink writes the reference only up to now).
    acted = 625.0 + AecSettings().lead - began
    assert heard["t"] == pytest.approx(acted, abs=0.05)
    assert heard["end"] == pytest.approx(625.0 - began, abs=0.05)
    [(at, intent, _)] = rig.log.commands(rig.session_id)
    assert intent == "yes" and at == pytest.approx(acted, abs=0.05)
    [session] = rig.log.sessions()
    started = datetime.fromisoformat(session.started)
    assert session.ended is not None
    ended = datetime.fromisoformat(session.ended)
    assert (started - EPOCH).total_seconds() == pytest.approx(began, abs=1.0)
    assert (ended - started).total_seconds() == pytest.approx(rig.clock() - began, abs=1.0)
    assert session.length == pytest.approx(rig.clock() - began, abs=1.0)


class ListedMic:
    """A microphone opened by name among the devices connected at each clock time, as
    :class:`~voicecoach.audio.sd_input.Microphone` opens one (``choose_device``)."""

    def __init__(self, clock: VirtualClock, wanted: str, devices: list[tuple[float, str]]):
        self.clock = clock
        self.wanted = wanted
        self.devices = devices  # (clock time it is plugged in, name)
        self.opened = 0
        self.is_open = False

    def open(self) -> None:
        connected = [
            DeviceInfo(i, name, "ALSA", 2, 0, 48_000.0)
            for i, (at, name) in enumerate(self.devices)
            if at <= self.clock()
        ]
        choose_device(self.wanted, "input", connected)
        self.opened += 1
        self.is_open = True

    def close(self) -> None:
        self.is_open = False

    def read(self, timeout: float = 0.05) -> list[AudioChunk]:
        t = self.clock()
        self.clock.set(t + timeout)
        frames = int(round(timeout * 16_000))
        noise = np.random.default_rng(int(t * 1000)).normal(0, 30, frames)  # about -60 dBFS
        return [AudioChunk(noise.astype("<i2").tobytes(), 16_000, 2, 1, t)] if self.is_open else []

    fault = None


def test_a_chosen_microphone_missing_while_others_are_there_is_told_apart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``--input-device`` names a microphone that is not there, but others are (a name
    mistyped, or that USB microphone unplugged): the coach says the microphone it was
    set up with is missing (not that none is), the log names the microphones there and
    names them again when another is plugged in, and the session begins when the one
    chosen comes."""
    rig = Rig(tmp_path)
    mic = ListedMic(
        rig.clock, "usb pnp", [(0.0, "vcmic"), (5.0, "USB Audio Device"), (9.0, "USB PnP")]
    )
    with pytest.raises(DeviceMissing) as missing:
        mic.open()
    assert missing.value.others_connected and missing.value.present == ("vcmic",)
    runner = LiveRunner(rig.session, mic, threading.Event(), mic_missing=missing.value)
    with caplog.at_level("WARNING"):
        run_for(runner, 20.0)
    said = [line["text"] for line in rig.kinds("said")]
    assert said[:3] == [MIC_CHOSEN_MISSING, MIC_BACK, script.intro(rig.coach.routine)[0]]
    assert 9.0 <= rig.session.origin < 11.1 and mic.opened == 1
    named = [r.getMessage() for r in caplog.records if "connected now" in r.getMessage()]
    hint = ". Plug in the one chosen, or give --input-device one of these names"
    assert named == [
        "no microphone yet (no microphone whose name contains 'usb pnp'; the microphones "
        f"connected now: 'vcmic'{hint} (see `voicecoach devices`)); waiting for one",
        "no microphone whose name contains 'usb pnp'; the microphones connected now: "
        f"'vcmic', 'USB Audio Device'{hint} (see `voicecoach devices`); still waiting for "
        "the one chosen",
    ]


class RescanOutput:
    """A speaker that works; a device rescan (:meth:`reopen`) gives a fresh sink, and
    notes what the coach's audio was doing when it came."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.rescans: list[tuple[float, bool, bool]] = []
        """(clock time, audio still playing, voice still busy) at each rescan."""

    def fault(self, sink: Sink) -> None:
        return None

    def reopen(self, old: Sink) -> Sink:
        self.rescans.append((self.rig.clock(), old.is_playing(), self.rig.speaker.busy))
        return MemorySink(22_050, self.rig.clock)

    def paused(self, sink: Sink) -> contextlib.nullcontext[None]:
        return contextlib.nullcontext()


def test_no_device_rescan_cuts_the_notice_while_waiting_for_a_microphone(
    tmp_path: Path,
) -> None:
    """Waiting for a microphone, the runner re-reads the device list every 2 s (a
    replugged card is only seen then), which reopens the speaker too: never while the
    notice plays, so it is heard to the end; once it is over, the rescans go on. (On
    the virtual clock, with the real runner, session, speaker and sink; the voice is
    not threaded here, so its busy part is tested end to end, in test_live_cli.)"""
    rig = Rig(tmp_path)
    mic = FlakyMic(rig.clock, dies_at=1e9, back_at=1e9)  # never comes
    mic.is_open = False
    output = RescanOutput(rig)
    runner = LiveRunner(rig.session, mic, threading.Event(), output=output, mic_missing=NO_MIC)
    run_for(runner, 20.0)
    notice = [seg for seg in rig.sink.segments if seg.utterance_id == -1]
    ends = notice[-1].end(rig.sink.rate)
    assert ends > 4.0  # longer than two looks for the microphone
    assert not any(seg.stopped for seg in notice)  # heard to the end
    assert output.rescans, "no rescan once the notice was over"
    assert all(not playing and not busy for _, playing, busy in output.rescans)
    assert output.rescans[0][0] >= ends


def test_stopped_while_waiting_for_a_microphone_the_session_is_logged_as_not_begun(
    tmp_path: Path,
) -> None:
    """Ctrl-C or SIGTERM ten minutes into the wait for a microphone: the log keeps the
    session as never begun, with no length (it kept the wait as an interrupted
    session's length), and ``voicecoach history`` says so."""
    rig = Rig(tmp_path)
    mic = FlakyMic(rig.clock, dies_at=1e9, back_at=1e9)  # never comes
    runner = LiveRunner(rig.session, mic, threading.Event(), mic_missing=NO_MIC)
    assert run_for(runner, 600.0) == NOT_BEGUN
    assert [line["text"] for line in rig.kinds("said")] == [MIC_MISSING]
    [session] = rig.log.sessions()
    assert session.status == NOT_BEGUN and session.exercises == ()
    assert session.ended == session.started  # no length
    assert (datetime.fromisoformat(session.started) - EPOCH).total_seconds() == 0.0
    line = describe(session)
    assert line.endswith("not started (no microphone)") and "min" not in line
    assert rig.coach.state is State.NOT_STARTED


def test_the_loops_own_lines_are_rendered_ahead_with_the_routines() -> None:
    """``voicecoach prepare`` renders what the loop says itself (its fallbacks and the
    devices' notices) with each routine's texts: "my voice failed" synthesized live would
    need the voice that just failed, and on a Pi a live line comes late."""
    from voicecoach.dialogue import fixed_texts
    from voicecoach.routines import builtin_routines

    for routine in builtin_routines().values():
        assert set(FALLBACK_TEXTS) <= set(fixed_texts(routine)), routine.id
