"""What a recognizer is: the :class:`Recognizer` protocol, its results and settings.

A recognizer takes 16 kHz mono int16 audio in chunks, finds utterances in it with its
own endpointing, and returns one final :class:`Recognition` per utterance: the intent
it heard, or ``None`` for speech or noise that is not a command. Grammars are built
from one vocabulary (:data:`voicecoach.commands.PHRASES`); engines also take another
vocabulary (a mapping phrase -> intent), which is how the Korean test model is used.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

from ..audio.chunk import ASR_RATE, AudioChunk
from ..commands import PHRASES, Intent

Vocabulary = Mapping[str, Intent]
"""Spoken phrase (lower case, single spaces) -> intent."""


def default_vocabulary() -> dict[str, Intent]:
    """The product's vocabulary: every phrase of :data:`PHRASES`."""
    return {phrase: intent for intent, phrases in PHRASES.items() for phrase in phrases}


def restrict(vocabulary: Vocabulary, intents: Iterable[Intent] | None) -> dict[str, Intent]:
    """Only the phrases of ``intents`` (all of them when ``intents`` is None)."""
    if intents is None:
        return dict(vocabulary)
    keep = set(intents)
    return {p: i for p, i in vocabulary.items() if i in keep}


@dataclass(frozen=True)
class Recognition:
    """What a recognizer made of one utterance."""

    intent: Intent | None
    """The command heard, or None when the utterance is not a command."""
    text: str
    """The words the engine heard (its best guess, even when rejected); where a second
    model chose the command over what the words say, the command's phrase (``read``
    then holds the words)."""
    confidence: float
    """0..1: how sure the engine is of ``intent`` (or, when None, of the words)."""
    start: float
    """Stream time in seconds where the utterance starts."""
    end: float
    """Stream time in seconds where the utterance ends."""
    partial: bool = False
    """True for an early, not yet final result."""
    provisional: bool = False
    """With ``partial``: the engine's reading so far, before the utterance has ended
    (PocketSphinx: its partial result, through the checks that can be made on it). The
    live loop silences the coach for a safety command read so (a barge-in heard
    sooner) and acts only on the utterance's final result."""
    read: str | None = None
    """The words the engine's grammar read, where a second model chose another command
    than they say (PocketSphinx's command check, :mod:`.verify`); None otherwise."""


@runtime_checkable
class Recognizer(Protocol):
    """Streaming command recognition."""

    name: str
    """The engine's name (``pocketsphinx``, ``vosk``)."""

    def accept(self, chunk: AudioChunk) -> list[Recognition]:
        """Feed 16 kHz mono int16 audio; return results for utterances that ended."""
        ...

    def flush(self) -> list[Recognition]:
        """End of stream: finish an utterance in progress."""
        ...

    def reset(self) -> None:
        """Drop any utterance in progress (e.g. after the coach's own speech)."""
        ...

    def set_active(self, intents: frozenset[Intent] | None) -> None:
        """Listen only for these intents (None = all)."""
        ...

    def set_early_end(self, intents: frozenset[Intent] | None) -> None:
        """Let only these intents' whole commands end an utterance after a short pause
        (None = all), where the engine ends utterances early at all."""
        ...

    def recognize_utterance(self, chunk: AudioChunk) -> Recognition:
        """Treat ``chunk`` (16 kHz mono) as one whole utterance."""
        ...

    def describe(self) -> str:
        """One line for ``voicecoach check``: engine, model, settings."""
        ...


@dataclass(frozen=True)
class AsrSettings:
    """Which recognizer to use and how."""

    engine: str = "auto"
    """``auto`` (Vosk when an English Vosk model is installed, else PocketSphinx),
    ``vosk`` or ``pocketsphinx``."""
    vosk_model: Path | None = None
    """A Vosk model folder; None = ``$VOICECOACH_VOSK_MODEL`` or ``models/`` lookup."""
    threshold: float | None = None
    """Rejection threshold override (engine-specific units); None = the tuned default."""
    vad_silence: float = 0.3
    """Seconds of silence that end an utterance (where the engine lets it be set)."""
    phrase_silence: float | None = 0.15
    """Seconds of silence that end an utterance already heard as a whole command, one
    that no phrase of another intent starts with ("next" but not "go", which may
    become "go back"), instead of ``vad_silence`` (Vosk: instead of its own endpoint,
see :mod:`voicecoach.asr.vosk`). While the coach
    is heard the live loop keeps the early end to the safety commands
    (``set_early_end``), with ``safety_silence``. None (or ``vad_silence`` or more) =
    off. The result comes sooner, and talk cut into pieces at its pauses costs false
    accepts (evaluation set, streamed, wait after the detector's end p50 and false
    accepts; see the PocketSphinx module): off 300 ms; 0.2 s 130 ms, test split 20.4
    -> 21.8 %; 0.15 s 90 ms (dev 70 ms), test 20.9 -> 21.2 % and dev 19.9 -> 20.6 %
    against 0.2 s, recall 46.1 -> 46.3 % and 40.7 -> 41.4 %; 0.1 s 40 ms on dev, false
    accepts 22.0 %."""
    safety_silence: float | None = 0.1
    """The same early end for the safety commands (stop, pause, it hurts, ...) while
    they alone may end early: the live loop's setting while the coach is heard, so a
    pain report or a "pause" said over the coach cuts it off sooner. Also where
    ``phrase_silence`` is off. A false one stops the coach and asks the user, where a
    false "next" would move them on. ``scripts/bench_aec.py --seconds 600
    --safety-silence 0.2 0.15 0.1 0.05`` (seeds 1 and 2): the recognizer's barge-in
    wait p50 296 / 238 / 213 / 201 ms and 298 / 248 / 216 / 213 ms, the same barge-ins
    heard (one fewer of 51 at 0.05 s) and no echo utterance more. Dev split, streamed,
    with only the safety commands ending early, 0.2 -> 0.1 s: safety commands heard
    52.1 -> 51.4 %, safety commands taken from what must be rejected 10.9 -> 11.5 %,
    wait p50 160 -> 60 ms.
    None (or ``vad_silence`` or more) = ``phrase_silence``."""
    denoise: bool = True
    """Take background noise out before recognition, where the room is louder than a
    quiet one (PocketSphinx only): with RNNoise (``rnnoise``), or with the Wiener filter
    of :mod:`voicecoach.audio.denoise`, which takes out only noise that stays the same."""
    rnnoise: bool = True
    """Whether ``denoise`` uses RNNoise (:mod:`voicecoach.audio.rnnoise`) rather than the
    Wiener filter. Where RNNoise's library is not installed, the Wiener filter is used,
    with a warning."""
    noise_floor: float = 0.0005
    """RMS level (full scale = 1; 0.0005 is -66 dBFS) of faint noise that fills digital
    silence in what PocketSphinx hears (each 10 ms block quieter than that); 0 = none.
    Its acoustic model knows silence as a quiet room, not as digital zero, which some
    microphones deliver between words (a noise gate, a muted or suspended source). In
    digital silence a command's verdict depends on where it falls in the frames, and
    the fill changes which ones suffer: 10 commands in espeak-ng's voice at 20 offsets
    each, 179 of 200 heard without it, 184 with it ("it hurts" 11 -> 20, "repeat" 9 ->
    20, but "next" 20 -> 4). A microphone's or a room's own noise is louder and passes
    untouched. The evaluation set, streamed, whose clean files and 1 s tail are digital
    zero: recall / command taken for another / false accepts 45.1 / 11.1 / 21.8 ->
    46.1 / 11.7 / 20.9 % (test split), 39.0 / 10.7 / 20.3 -> 40.7 / 12.1 / 19.9 % (dev).
    Adding the noise everywhere gained more there (47.0 / 11.9 / 20.5 %) but changed
    what happens over a real room's noise too: over a television the reader's false
    commands went from 2 to 7 in 22 minutes (``bench_background.py``, two noise seeds).
    PocketSphinx only."""
    talk_gate: bool = True
    """While the microphone hears talk nearly all the time (a television, a radio),
    hear only speech clearly louder than it (see :mod:`voicecoach.asr.talk`). Without
    it, PocketSphinx's utterances never end while the television talks, and no command
    is heard; Vosk joins the commands to the talk around them."""
    verify: bool = True
    """Give a second model a say on PocketSphinx's commands: a classifier over a speech
    embedding of the last two seconds (:mod:`voicecoach.asr.verify`), which vetoes
    commands it does not hear and brings back ones PocketSphinx's own checks dropped.
    Where its models are not installed, the recognizer runs without it, with a
    warning. PocketSphinx only."""
    verify_threshold: float | None = None
    """The least probability the verifier must give the command; None = its tuned
    default (:data:`voicecoach.asr.verify.THRESHOLD`)."""
    max_utterance: float = 2.5
    """Longest utterance in seconds; longer speech is not a short command (the longest
    phrase, "stop the session", takes about 1.5 s said slowly)."""


def check_format(chunk: AudioChunk) -> None:
    """Raise ValueError unless ``chunk`` is 16 kHz mono int16."""
    if chunk.rate != ASR_RATE or chunk.channels != 1 or chunk.width != 2:
        raise ValueError(
            f"recognizers take {ASR_RATE} Hz mono 16-bit audio, got {chunk.rate} Hz, "
            f"{chunk.channels} channels, {chunk.width * 8}-bit: convert with to_mono16k()"
        )


@dataclass
class FakeRecognizer:
    """A scripted recognizer for tests of other components.

    ``script`` maps a stream time to the result to emit once audio up to that time
    has been accepted.
    """

    script: list[Recognition] = field(default_factory=list)
    name: str = "fake"
    active: frozenset[Intent] | None = None
    early: frozenset[Intent] | None = None
    _heard_until: float = 0.0

    def accept(self, chunk: AudioChunk) -> list[Recognition]:
        """Emit the scripted results whose end time the stream has passed."""
        self._heard_until = max(self._heard_until, chunk.end)
        due = [r for r in self.script if r.end <= self._heard_until]
        self.script = [r for r in self.script if r.end > self._heard_until]
        active = self.active
        return [r for r in due if r.intent is None or active is None or r.intent in active]

    def flush(self) -> list[Recognition]:
        """Emit everything left."""
        out, self.script = self.script, []
        return out

    def reset(self) -> None:
        """Nothing to drop."""

    def set_active(self, intents: frozenset[Intent] | None) -> None:
        """Remember the active intents."""
        self.active = intents

    def set_early_end(self, intents: frozenset[Intent] | None) -> None:
        """Remember the intents that may end an utterance early."""
        self.early = intents

    def recognize_utterance(self, chunk: AudioChunk) -> Recognition:
        """The next scripted result."""
        return self.script.pop(0)

    def describe(self) -> str:
        """Names the fake."""
        return "fake recognizer (tests only)"
