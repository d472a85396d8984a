"""``voicecoach demo``: the whole product with no sound card, on a virtual clock.

A scripted user in an espeak-ng voice (not the coach's) speaks commands at set moments
of a routine. The microphone signal is that voice, plus the coach's own output as echo
(a direct path, a wall reflection and a reverberant tail, at a level like a small
speaker next to the microphone) and room noise. It goes through the real recognizer,
the real coach and the real voice; the clock is virtual, so a session of several
minutes runs in a small fraction of that. Outputs: ``session.wav`` (what the microphone heard) and
``transcript.jsonl`` (see :class:`~.loop.TranscriptEntry`).
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..asr.base import Recognizer
from ..audio.chunk import ASR_RATE, AudioChunk, resample
from ..audio.sinks import MemorySink, VirtualClock, audible
from ..commands import Intent, match_intent
from ..dialogue import Coach
from ..errors import EngineUnavailable
from ..routines.model import Routine
from ..session import start_recording
from ..tts.speaker import Speaker
from .loop import LiveSession, TranscriptEntry
from .settings import LiveSettings
from .virtual import drive

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScriptLine:
    """One thing the scripted user says, and when."""

    text: str
    trigger: str = "wait"
    """``wait``: once the coach waits for an answer and has been quiet ``delay`` s;
    ``after:PREFIX``: ``delay`` s after the coach starts a line beginning with PREFIX."""
    delay: float = 0.8


#: The demo's user, for the ``self-correction`` routine (it has holds to hurt in).
DEMO_SCRIPT: tuple[ScriptLine, ...] = (
    ScriptLine("yes"),  # the doctor question
    ScriptLine("yes"),  # the acute pain question
    ScriptLine("it hurts", "after:Breathe in, and hold.", 2.3),  # in the middle of the first hold
    ScriptLine("repeat"),  # "skip it, or repeat it more gently?": repeat it, gentler
    ScriptLine("where am i"),
    ScriptLine("next"),  # the same exercise again, more gently
    ScriptLine("pause", "after:Exercise one", 3.0),  # barge-in during the announcement
    ScriptLine("continue"),
    ScriptLine("next", "after:Relax for", 2.2),  # done early, in the relax pause
    ScriptLine("help"),
    ScriptLine("next"),
    ScriptLine("stop", "after:Hold.", 3.2),  # barge-in during a hold
    ScriptLine("yes"),  # yes, end the session
)


@dataclass(frozen=True)
class DemoSettings:
    """How the demo's room sounds."""

    user_voice: str = "en-us+f3"
    """espeak-ng voice of the scripted user."""
    user_speed: int = 150
    """espeak-ng words per minute."""
    user_peak: float = 0.35
    """Peak level of the user's voice at the microphone (full scale = 1)."""
    echo_gain: float = 0.3
    """Level of the coach's direct sound at the microphone, relative to its output."""
    echo_delay: float = 0.004
    """Seconds from the speaker to the microphone (about 1.4 m)."""
    reflection_gain: float = 0.12
    """A wall reflection, relative to the output."""
    reflection_delay: float = 0.028
    rt60: float = 0.3
    """Reverberation time of the room (seconds for the echo's tail to fall 60 dB)."""
    reverb_ratio: float = 1.0
    """Energy of the reverberant tail relative to the direct sound (1 = 0 dB, about a
    metre or two from the speaker in a furnished room)."""
    noise_rms: float = 0.002
    """Room noise (about -54 dBFS)."""
    step: float = 0.02
    """Microphone block length in seconds."""
    max_seconds: float = 900.0
    """Virtual seconds after which the demo ends the session."""
    retry_after: float = 10.0
    """Seconds the user waits for a reaction before saying a line again (twice at most)."""
    seed: int = 7


def speak_espeak(text: str, voice: str = "en-us+f3", speed: int = 150) -> np.ndarray:
    """``text`` in an espeak-ng voice, as float32 mono at 16 kHz."""
    try:
        proc = subprocess.run(
            ["espeak-ng", "-v", voice, "-s", str(speed), "--stdout", text],
            capture_output=True,
            check=True,
            timeout=30,
        )
    except (OSError, subprocess.CalledProcessError) as err:
        raise EngineUnavailable(
            f"the demo's user speaks with espeak-ng, which failed: {err}; "
            "install it with 'apt install espeak-ng'"
        ) from err
    with wave.open(io.BytesIO(proc.stdout)) as w:
        rate = w.getframerate()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32)
    return resample(data / 32768.0, rate, ASR_RATE)


class ScriptedUser:
    """Says the lines of a script when their moment comes; checks the coach heard them."""

    def __init__(
        self,
        script: tuple[ScriptLine, ...],
        session: LiveSession,
        settings: DemoSettings,
        speak: Callable[[str], np.ndarray],
        log_entry: Callable[[TranscriptEntry], None],
    ) -> None:
        self.script = script
        self.session = session
        self.settings = settings
        self.speak = speak
        self.log_entry = log_entry
        self.index = 0
        self.attempts = 0
        self.spoken: list[tuple[float, float, str, Intent | None]] = []
        """(start, end, text, intent) of every line said."""
        self._audio = np.zeros(0, dtype=np.float32)
        self._audio_start = 0.0
        self._speaking_until = -1.0
        self._heard_before = 0
        self._said_at: list[tuple[float, str]] = []  # the coach's lines, as they come
        self._quiet_since: float | None = None
        self._rendered: dict[str, np.ndarray] = {}

    @property
    def done(self) -> bool:
        """True when every line has been said and reacted to (or given up)."""
        return self.index >= len(self.script)

    def coach_said(self, t: float, text: str) -> None:
        """Told of each line the coach says."""
        self._said_at.append((t, text))

    def on_step(self, t: float) -> None:
        """Decide at clock time ``t`` whether to start the next line."""
        if self.done or t < self._speaking_until:
            return
        line = self.script[self.index]
        if self.attempts and self._reacted():
            self.index += 1
            self.attempts = 0
            if self.done:
                return
            line = self.script[self.index]
        if self.attempts and t < self._speaking_until + self.settings.retry_after:
            return
        if self.attempts >= 3:
            log.warning("the coach never reacted to %r; going on", line.text)
            self.index += 1
            self.attempts = 0
            return
        if self._due(line, t):
            self._start(line, t)

    def _reacted(self) -> bool:
        intent = match_intent(self.script[self.index].text)
        return any(c.intent is intent for c in self.session.acted[self._heard_before :])

    def _due(self, line: ScriptLine, t: float) -> bool:
        sink = self.session.sink
        if line.trigger == "wait":
            quiet = self.session.coach.waiting_for_user and not audible(sink, 0.3)
            if not quiet:
                self._quiet_since = None
                return False
            if self._quiet_since is None:
                self._quiet_since = t
            return t - self._quiet_since >= line.delay
        prefix = line.trigger.removeprefix("after:")
        # A line the coach started after the user's last line began: its answer may
        # come before the end of the user's audio, which has silence at its end.
        since = self._audio_start if self.spoken else self._speaking_until
        return any(
            said >= since and text.startswith(prefix) and t >= said + line.delay
            for said, text in self._said_at
        )

    def _start(self, line: ScriptLine, t: float) -> None:
        if line.text not in self._rendered:
            self._rendered[line.text] = self.speak(line.text)
        audio = self._rendered[line.text]
        peak = float(np.max(np.abs(audio))) or 1.0
        self._audio = (audio * (self.settings.user_peak / peak)).astype(np.float32)
        self._audio_start = t
        self._speaking_until = t + len(audio) / ASR_RATE
        self._heard_before = len(self.session.acted)
        self._quiet_since = None
        self.attempts += 1
        intent = match_intent(line.text)
        self.spoken.append((t, self._speaking_until, line.text, intent))
        self.log_entry(
            TranscriptEntry(
                t - self.session.origin,
                "scripted",
                line.text,
                intent.value if intent else None,
                {"end": round(self._speaking_until - self.session.origin, 3)},
            )
        )

    def audio(self, t: float, frames: int) -> np.ndarray:
        """The user's voice at the microphone from clock time ``t``, ``frames`` samples."""
        out = np.zeros(frames, dtype=np.float32)
        i = int(round((t - self._audio_start) * ASR_RATE))
        lo, hi = max(i, 0), min(i + frames, len(self._audio))
        if hi > lo:
            out[lo - i : hi - i] = self._audio[lo:hi]
        return out


def room_response(settings: DemoSettings, rate: int = ASR_RATE) -> np.ndarray:
    """The echo path from the speaker to the microphone as an impulse response at ``rate``.

    The direct sound, one wall reflection, and a diffuse tail (noise decaying by 60 dB
    in ``rt60``, starting after the reflection) with ``reverb_ratio`` times the direct
    sound's energy.
    """
    s = settings
    n = int((s.reflection_delay + s.rt60) * rate) + 1
    h = np.zeros(n)
    h[int(round(s.echo_delay * rate))] += s.echo_gain
    h[int(round(s.reflection_delay * rate))] += s.reflection_gain
    if s.reverb_ratio > 0 and s.rt60 > 0:
        start = int(round(s.reflection_delay * rate)) + 1
        t = np.arange(n - start) / rate
        tail = np.random.default_rng(s.seed).normal(0.0, 1.0, n - start)
        tail *= np.exp(-3.0 * np.log(10.0) * t / s.rt60)  # -60 dB at rt60
        tail *= s.echo_gain * np.sqrt(s.reverb_ratio / np.sum(tail**2))
        h[start:] += tail
    return h


class Room:
    """The microphone signal: user + the coach's echo + noise, recorded as it goes.

    The echo is what the speaker played convolved with :func:`room_response`, block by
    block (overlap-add), so a block's echo rings on into the blocks after it.
    """

    def __init__(self, sink: MemorySink, user: ScriptedUser, settings: DemoSettings) -> None:
        self.sink = sink
        self.user = user
        self.settings = settings
        self.rng = np.random.default_rng(settings.seed)
        self.recording: list[np.ndarray] = []
        self.response = room_response(settings)
        self._ring = np.zeros(0)  # echo already due to later blocks
        self._h_fft = np.zeros(0, dtype=complex)  # the response's spectrum, per FFT size
        self._h_size = 0

    def _played(self, start: float, frames: int) -> np.ndarray:
        """What the speaker played from ``start`` for ``frames`` samples at 16 kHz."""
        rate = self.sink.rate
        n = int(np.ceil(frames * rate / ASR_RATE)) + 2
        out = np.zeros(n, dtype=np.float32)
        end = start + n / rate
        for seg in reversed(self.sink.segments):
            seg_end = seg.end(rate)
            if seg_end <= start - 1.0:
                break  # segments are back to back in time order
            if seg.start >= end or seg_end <= start:
                continue
            i = int(round((seg.start - start) * rate))
            lo, hi = max(i, 0), min(i + len(seg.samples), n)
            if hi > lo:
                out[lo:hi] += seg.samples[lo - i : hi - i].astype(np.float32) / 32768.0
        x = np.arange(frames) * (rate / ASR_RATE)
        return np.interp(x, np.arange(n), out).astype(np.float32)

    def _echo(self, t: float, frames: int) -> np.ndarray:
        """The echo in the microphone's block from ``t``: this block's playback through
        the room added to what earlier blocks still ring with."""
        played = self._played(t, frames).astype(np.float64)
        h = self.response
        size = 1 << int(np.ceil(np.log2(frames + len(h))))
        if self._h_size != size:
            self._h_fft, self._h_size = np.fft.rfft(h, size), size
        rings = np.fft.irfft(np.fft.rfft(played, size) * self._h_fft, size)
        rings = rings[: frames + len(h) - 1]
        if len(self._ring) < len(rings):
            self._ring = np.concatenate([self._ring, np.zeros(len(rings) - len(self._ring))])
        self._ring[: len(rings)] += rings
        out, self._ring = self._ring[:frames].copy(), self._ring[frames:]
        return out.astype(np.float32)

    def mic(self, t: float, seconds: float) -> AudioChunk:
        """The microphone's block from clock time ``t``."""
        s = self.settings
        frames = int(round(seconds * ASR_RATE))
        signal = self.user.audio(t, frames)
        signal += self._echo(t, frames)
        signal += self.rng.normal(0.0, s.noise_rms, frames).astype(np.float32)
        signal = np.clip(signal, -1.0, 1.0)
        self.recording.append(signal)
        return AudioChunk.from_float(signal, ASR_RATE, t)


@dataclass
class DemoResult:
    """What a demo run did."""

    status: str
    session_seconds: float
    wall_seconds: float
    scripted: list[dict[str, object]]
    heard: list[dict[str, object]]
    ignored: list[dict[str, object]]
    said: int
    self_triggers: list[dict[str, object]] = field(default_factory=list)
    """Commands acted on with no scripted line near them: the coach answering itself."""
    holds: int = 0
    """Times the coach fell silent for a safety command read before its final result."""
    resumed: int = 0
    """Of those, the times the final result did not act on it (the line said again)."""
    wav: Path | None = None
    transcript: Path | None = None

    def summary(self) -> str:
        """A few lines for the terminal."""
        lines = [
            f"session: {self.status}, {self.session_seconds:.0f} s of session time "
            f"in {self.wall_seconds:.1f} s",
            f"scripted user: {len(self.scripted)} lines; coach acted on {len(self.heard)} "
            f"commands, ignored {len(self.ignored)}; self-triggers: {len(self.self_triggers)}",
            f"coach: {self.said} lines spoken; holds (silent early for a safety command): "
            f"{self.holds}, of which resumed without it: {self.resumed}",
        ]
        for entry in self.scripted:
            t = float(entry["t"])  # type: ignore[arg-type]
            hit = next(
                (h for h in self.heard if 0 <= float(h["t"]) - t < 6.0),  # type: ignore[arg-type]
                None,
            )
            got = f"heard {hit['text']!r}, acted on as {hit['command']}" if hit else "not acted on"
            lines.append(f"  {t:7.1f}s  user: {entry['text']!r:14} -> {got}")
        if self.wav is not None:
            lines.append(f"wrote {self.wav} and {self.transcript}")
        return "\n".join(lines)


def run_demo(
    routine: Routine,
    recognizer: Recognizer,
    make_speaker: Callable[[MemorySink], Speaker],
    out_dir: Path | None,
    script: tuple[ScriptLine, ...] = DEMO_SCRIPT,
    settings: DemoSettings | None = None,
    live: LiveSettings | None = None,
    speak: Callable[[str], np.ndarray] | None = None,
) -> DemoResult:
    """Run a scripted session; write ``session.wav`` and ``transcript.jsonl`` to ``out_dir``."""
    settings = settings or DemoSettings()
    wall = time.monotonic()
    clock = VirtualClock()
    sink = MemorySink(22_050, clock)
    speaker = make_speaker(sink)
    entries: list[TranscriptEntry] = []
    user_box: list[ScriptedUser] = []

    def on_entry(entry: TranscriptEntry) -> None:
        entries.append(entry)
        if entry.kind == "said" and user_box:
            user_box[0].coach_said(clock(), entry.text)

    recorder, _ = start_recording(
        out_dir / "sessions.sqlite3" if out_dir else Path(":memory:"),
        routine.id,
        [ex.id for ex in routine.exercises],
        offer_resume=False,
    )
    session = LiveSession(
        Coach(routine), recognizer, speaker, clock, recorder, live or LiveSettings(), on_entry
    )

    def speak_line(text: str) -> np.ndarray:
        return speak_espeak(text, settings.user_voice, settings.user_speed)

    user = ScriptedUser(script, session, settings, speak or speak_line, on_entry)
    user_box.append(user)
    room = Room(sink, user, settings)
    session.start()
    drive(session, clock, room.mic, settings.max_seconds, settings.step, user.on_step)
    status = session.end()
    if recorder is not None:
        recorder.log.close()

    rows = [e.to_json() for e in sorted(entries, key=lambda e: e.t)]
    result = DemoResult(
        status=status,
        session_seconds=clock() - session.origin,
        wall_seconds=time.monotonic() - wall,
        scripted=[r for r in rows if r["kind"] == "scripted"],
        heard=[r for r in rows if r["kind"] == "heard"],
        ignored=[r for r in rows if r["kind"] == "ignored"],
        said=sum(1 for r in rows if r["kind"] == "said"),
        holds=sum(1 for r in rows if r["kind"] == "held"),
        resumed=sum(1 for r in rows if r["kind"] == "resumed"),
    )
    result.self_triggers = [
        h
        for h in result.heard
        if not any(
            float(s["t"]) - 0.5 <= float(h["t"]) <= float(s["end"]) + 5.0  # type: ignore[arg-type]
            for s in result.scripted
        )
    ]
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        result.wav = out_dir / "session.wav"
        result.transcript = out_dir / "transcript.jsonl"
        audio = np.concatenate(room.recording) if room.recording else np.zeros(0)
        pcm = np.clip(np.round(audio * 32767.0), -32768, 32767).astype("<i2")
        with wave.open(str(result.wav), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(ASR_RATE)
            w.writeframes(pcm.tobytes())
        with open(result.transcript, "w", encoding="utf-8") as f:
            for row in rows:
                f.write(json.dumps(row) + "\n")
    return result


__all__ = [
    "DEMO_SCRIPT",
    "DemoResult",
    "DemoSettings",
    "Room",
    "ScriptLine",
    "ScriptedUser",
    "run_demo",
    "speak_espeak",
]
