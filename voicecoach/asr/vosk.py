"""The Vosk engine: command phrases spotted with a grammar-restricted Kaldi decoder.

Vosk decodes against a small grammar built from the vocabulary (plus ``[unk]``, a
filler that soaks up other speech, when the model has it), so it can only hear the
command phrases. A result counts as a command only when its words are exactly one
phrase and every word's confidence reaches the threshold; anything else is reported
with ``intent=None``.

Stream time: results carry the timestamps of the chunks fed to :meth:`accept`
(:attr:`AudioChunk.timestamp`), so ``start``/``end`` are on the same clock as the
chunks. Vosk counts its word times in samples since the decoder was created; every
chunk's timestamp re-anchors that count, so times stay on the chunks' clock across
gaps in the stream (only an utterance straddling a gap is off by the gap).

Endpointing is Vosk's own (``conf/model.conf``: the small models end an utterance
after 0.5 s of silence at a confident end of a phrase, else after 1 s; the Korean test
model's final results came 0.74 to 1.15 s, median 0.93 s, after a command's last
sound, over its four words in three espeak-ng voices at three rates), with an early
end as PocketSphinx's: once the stable hypothesis is a whole command that may end
early (``set_early_end``; not one a phrase of another intent starts with) and the
sound has been quiet ``AsrSettings.phrase_silence`` (``safety_silence`` for the safety
commands while only they may), the utterance is ended there (``FinalResult``). Over 48
espeak-ng clips of the four Korean words (four voices, three rates), the result came
0.18 s after the last sound at the median (p95 0.38 s) instead of 0.91 s (1.06 s), with
35 right, 7 taken for another word and 6 missed against 34, 6 and 8; over 48 clips of
other Korean words and sentences, 14 gave a command either way (this model has no
``[unk]``). ``AsrSettings.vad_silence`` is not applied: vosk 0.3.45 has no call for it.
While a television or a radio
talks on, Vosk heard no such silence and joined the commands to the talk, so that
talk is turned down before Vosk hears it
(:class:`.talk.TalkAttenuator`, ``AsrSettings.talk_gate``). ``max_utterance`` is
enforced here: longer speech is reported once as not a command, and the rest of it is
dropped.

Early (partial) results carry no word times in Vosk (asking for them delays the
partial hypothesis by about a second, which defeats its purpose), so their ``start``
is where the current run of sound began, measured from the chunks' loudness.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import sys
import tempfile
from collections import OrderedDict, deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..audio.chunk import ASR_RATE, AudioChunk
from ..commands import SAFETY_INTENTS, Intent
from ..errors import EngineUnavailable, ModelError
from ..paths import data_dir, project_models_dir
from .base import AsrSettings, Recognition, Vocabulary, check_format, default_vocabulary, restrict
from .talk import TalkAttenuator, new_attenuator
from .wholefile import one_command

log = logging.getLogger(__name__)

ENGLISH_MODEL = "vosk-model-small-en-us-0.15"
"""The folder name of the English model ``voicecoach models fetch vosk-small-en`` installs."""
MODEL_ENV = "VOICECOACH_VOSK_MODEL"
"""Environment variable naming a Vosk model folder."""
FETCH_HINT = "voicecoach models fetch vosk-small-en"
DEFAULT_THRESHOLD = 0.8
"""Lowest per-word confidence (Vosk's word posterior, 0..1) accepted as a command.

Measured with the Korean test model (closed grammar, no ``[unk]``) on 120 espeak-ng
clips of the four commands and 70 clips of other words: from no threshold to 0.8,
correct commands kept fall from 92 to 90, out-of-grammar clips taken as commands from
47 to 32 and misheard commands from 27 to 22; above 0.8 correct commands drop faster
(83 at 0.9) for little gain. Not yet measured on the English model."""
UNK = "[unk]"

PARTIAL_STABLE = 0.2
"""Seconds an early hypothesis must stay unchanged before it is reported (at least two
decoder calls): shorter flickers are the decoder changing its mind."""

_PIECE = 1600  # samples fed per decoder call (0.1 s): one endpoint per call at most
_CACHE = 16  # decoders kept, one per active set: the dialogue uses a handful
_ONSET_GAP = 0.3  # a quieter stretch longer than this starts a new run of sound
_PARTIAL_LAG = 0.6  # Vosk's first hypothesis of a word may come this long after its sound
_FLOOR_WINDOW = 3.0  # seconds of loudness history the noise floor is the minimum of
_LOUD_FACTOR = 3.0  # above this multiple of the noise floor, a piece is loud
_LOUD_MIN = 100.0  # int16 RMS (about -50 dBFS): quieter is never speech


def is_vosk_model(path: Path) -> bool:
    """True if ``path`` is a folder laid out as a Vosk model.

    Vosk accepts ``am/final.mdl`` with ``conf/`` (every current model), and the older
    flat layout with ``final.mdl`` and ``mfcc.conf`` in the folder itself.
    """
    if (path / "am" / "final.mdl").is_file() and (path / "conf").is_dir():
        return True
    return (path / "final.mdl").is_file() and (path / "mfcc.conf").is_file()


def check_vosk_model(path: Path, source: str = "") -> None:
    """Raise :class:`ModelError` unless ``path`` is a Vosk model folder.

    ``source`` says where the path came from (e.g. ``$VOICECOACH_VOSK_MODEL``).
    """
    where = f" ({source})" if source else ""
    if not path.exists():
        raise ModelError(
            f"no Vosk model at {path}{where}: download the English model with "
            f"`{FETCH_HINT}`, or point to an unzipped Vosk model folder"
        )
    if not is_vosk_model(path):
        raise ModelError(
            f"{path}{where} is not a Vosk model folder (it needs am/final.mdl and conf/): "
            f"point to the folder the model's zip unpacks to, or run `{FETCH_HINT}`"
        )


def model_search_path() -> list[Path]:
    """Where :func:`find_vosk_model` looks when no path is given, in order."""
    return [project_models_dir() / ENGLISH_MODEL, data_dir() / "models" / ENGLISH_MODEL]


def find_vosk_model(explicit: Path | None = None) -> Path | None:
    """The Vosk model to use, or None when none is installed.

    ``explicit`` first (it must be a model), then ``$VOICECOACH_VOSK_MODEL`` (likewise:
    a variable set to a wrong path is an error, not a silent fallback), then the
    English model in the checkout's ``models/`` and in the user data folder.
    """
    if explicit is not None:
        check_vosk_model(explicit)
        return explicit
    env = os.environ.get(MODEL_ENV, "").strip()
    if env:
        path = Path(env).expanduser()
        check_vosk_model(path, f"${MODEL_ENV}")
        return path
    for path in model_search_path():
        if is_vosk_model(path):
            return path
        if path.exists():
            log.warning("ignoring %s: not a complete Vosk model (run `%s`)", path, FETCH_HINT)
    return None


_NATIVE_LINE = re.compile(r"(?:LOG|WARNING|ERROR|ASSERTION_FAILED|VLOG\[\d+\]) \(VoskAPI:|ERROR: ")
"""A line Vosk's C++ code writes itself: Kaldi's (``ERROR (VoskAPI:Model():...)``) and
OpenFST's (``ERROR: FstHeader::Read: ...``)."""


@contextlib.contextmanager
def _native_lines_logged() -> Iterator[list[str]]:
    """Keep the lines Vosk's C++ code writes to the process's standard error off it.

    Kaldi prints its errors whatever ``SetLogLevel`` says: loading a broken model put
    "ERROR (VoskAPI:Model():model.cc:122) Folder ... does not contain model files.
    Make sure you specified ..." above voicecoach's own one-line message. Those lines
    are logged at debug level (``-v`` shows them) and, once the block has run, are in
    the list yielded; anything else written meanwhile (another thread's) goes on to
    standard error after."""
    native: list[str] = []
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield native  # no standard error to keep clean (nor lines to read)
        return
    try:
        with tempfile.TemporaryFile() as caught:
            os.dup2(caught.fileno(), 2)
            try:
                yield native
            finally:
                with contextlib.suppress(OSError, ValueError, AttributeError):
                    sys.stderr.flush()
                os.dup2(saved, 2)
                caught.seek(0)
                native += _pass_on(caught.read().decode(errors="replace"))
    finally:
        os.close(saved)


def _pass_on(written: str) -> list[str]:
    """Log Vosk's own lines of ``written`` at debug level, and return them; write the
    rest to stderr."""
    native, others = [], []
    for line in written.splitlines(keepends=True):
        if _NATIVE_LINE.match(line):
            log.debug("Vosk: %s", line.rstrip())
            native.append(line.rstrip())
        else:
            others.append(line)
    if others:
        os.write(2, "".join(others).encode())
    return native


def _damage(path: Path, native: list[str]) -> str | None:
    """What Vosk's own error lines, written while it loaded the model in ``path``, say
    is damaged in it (a file of it, by preference), or None when it wrote none."""
    errors = [line for line in native if line.startswith(("ERROR", "ASSERTION_FAILED"))]
    if not errors:
        return None
    for line in errors:
        found = re.search(r"(\S+\.fst)\b", line)
        if found:
            name = found.group(1).strip("\"'")
            with contextlib.suppress(ValueError):
                name = str(Path(name).relative_to(path))
            return f"{name} cannot be read"
    return errors[0]


def load_vosk_model(path: Path) -> Any:
    """Load a Vosk model (``vosk.Model``) from a folder, with errors a person can act on."""
    vosk = _import_vosk()
    check_vosk_model(path)
    try:
        with _native_lines_logged() as native:
            model = vosk.Model(str(path))
    except Exception as err:  # vosk raises a bare Exception("Failed to create a model")
        raise ModelError(
            f"the Vosk model in {path} cannot be loaded (incomplete or corrupt): fetch it "
            f"again with `{FETCH_HINT} --force`, or copy the unzipped folder there again"
        ) from err
    # A lookahead model (graph/HCLr.fst with Gr.fst) whose HCLr.fst OpenFST cannot read
    # (cut short, garbled) still loads, and only OpenFST's lines on stderr say so. The
    # first sign was then a recognizer made from it crashing the process (SIGSEGV) or,
    # for a model of another language, "knows none of the command words".
    damage = _damage(path, native)
    if damage is not None:
        raise ModelError(
            f"the Vosk model in {path} is damaged ({damage}): fetch it again with "
            f"`{FETCH_HINT} --force`, or remove the folder {path}"
        )
    return model


LIBRARY_HINTS = {"libatomic.so.1": " (`sudo apt install libatomic1`)"}
"""Debian packages for the libraries Vosk's own library needs that a minimal system may
lack: its aarch64 build (a Raspberry Pi's) needs libatomic, which its x86-64 build does
not."""


def _missing_library(err: OSError) -> str:
    """The library named in a loader error ("libatomic.so.1: cannot open ..."), or ""."""
    found = re.search(r"(lib[\w.+-]+\.so(?:\.\d+)*): cannot open", str(err))
    return found.group(1) if found else ""


def _import_vosk() -> Any:
    try:
        import vosk
    except ImportError as err:
        raise EngineUnavailable(
            f"the Vosk engine needs the vosk package ({err}): install it with "
            "`pip install vosk`, or use --engine pocketsphinx"
        ) from err
    except OSError as err:  # the package is there but its library cannot be loaded
        raise EngineUnavailable(
            f"the Vosk engine's library cannot be loaded ({err}): install the system "
            f"library it names{LIBRARY_HINTS.get(_missing_library(err), '')}, or use "
            "--engine pocketsphinx"
        ) from err
    vosk.SetLogLevel(-1)  # Kaldi's own logging goes to stderr otherwise
    return vosk


def _ms(t: float) -> float:
    """Seconds rounded to the millisecond (word times are 10-30 ms steps anyway)."""
    return round(t, 3)


def _drop(rec: Any) -> None:
    """Make ``rec`` (a ``vosk.KaldiRecognizer``) forget all it has heard.

    Not with its ``Reset()``: the audio it has not yet decoded (up to about 0.6 s)
    stays in its feature pipeline and is decoded into the next utterance, so a word
    ending just before a reset still came out after it. ``FinalResult()`` ends the
    utterance, and the next audio starts on a fresh pipeline (its clock runs on)."""
    rec.FinalResult()


@dataclass
class _Decoder:
    """One Kaldi recognizer for one set of phrases, and how much audio it has had."""

    phrases: frozenset[str]
    rec: Any  # vosk.KaldiRecognizer, or None when there is nothing to listen for
    fed: int = 0  # samples fed since creation: its word times count from there


class _Onsets:
    """Where the current run of sound began, from the loudness of the audio fed.

    A piece is loud when its RMS is well above the quietest of the last few seconds
    (the noise floor); quieter stretches shorter than ``_ONSET_GAP`` do not end a run.
    """

    def __init__(self) -> None:
        self._recent: deque[tuple[float, float]] = deque()
        self.onset: float | None = None
        """Start of the latest run of loud pieces (None before any)."""
        self.last_loud = -math.inf
        """End of the latest loud piece."""
        self.heard = -math.inf
        """End of the latest piece."""

    def feed(self, start: float, end: float, pcm: bytes) -> None:
        x = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
        rms = float(np.sqrt(np.mean(x * x))) if len(x) else 0.0
        self.heard = end
        self._recent.append((end, rms))
        while self._recent and self._recent[0][0] < end - _FLOOR_WINDOW:
            self._recent.popleft()
        floor = min(r for _, r in self._recent)
        if rms > max(_LOUD_FACTOR * floor, _LOUD_MIN):
            if self.onset is None or start - self.last_loud > _ONSET_GAP:
                self.onset = start
            self.last_loud = end

    def sounding(self, longest: float) -> bool:
        """Whether sound was heard so lately that Vosk may not have a hypothesis of it yet
        (its first comes about 0.56 s after a word begins, up to 0.4 s after a short
        word ends), in a run begun at most ``longest`` seconds ago."""
        if self.onset is None:
            return False
        return self.heard - self.last_loud <= _PARTIAL_LAG and self.heard - self.onset <= longest


class VoskRecognizer:
    """Streaming command recognition with Vosk (see the module doc)."""

    name = "vosk"

    def __init__(
        self,
        model_path: Path,
        vocabulary: Vocabulary | None = None,
        settings: AsrSettings = AsrSettings(),  # noqa: B008 - frozen, shared safely
        *,
        model: Any = None,
        early_safety: bool | None = None,
    ) -> None:
        """Load the model in ``model_path`` (or use ``model``, an already loaded
        ``vosk.Model`` of that folder, so several recognizers can share one).

        ``early_safety``: report a safety command from the partial hypothesis. None =
        only when the model has ``[unk]``: without that filler every sound is forced
        onto some command, and early hypotheses are mostly wrong (measured on the
        Korean model: a stable "stop" hypothesis for 46 of 129 clips of other words).
        """
        self._vosk = _import_vosk()
        self.model_path = Path(model_path)
        self.settings = settings
        self.model = model if model is not None else load_vosk_model(self.model_path)
        self.threshold = settings.threshold if settings.threshold is not None else DEFAULT_THRESHOLD
        self.has_unk = self.model.vosk_model_find_word(UNK) >= 0
        self.early_safety = self.has_unk if early_safety is None else early_safety
        self.vocabulary = self._known_phrases(
            dict(vocabulary) if vocabulary is not None else default_vocabulary()
        )
        if not self.vocabulary:
            raise ModelError(
                f"the Vosk model in {self.model_path} knows none of the command words: "
                f"is it the right language? Use `{FETCH_HINT}` for English"
            )
        self._decoders: OrderedDict[frozenset[str], _Decoder] = OrderedDict()
        self._onsets = _Onsets()
        # Background talk turned down before Vosk hears it (see .talk).
        self._talk = self._new_talk()
        self._all = frozenset(self.vocabulary)
        self._pending: frozenset[str] | None = None
        self._early: frozenset[Intent] | None = None  # set_early_end(); None = all
        self._decoder = self._decoder_for(self._all)
        self._offset = 0.0  # stream time of the current decoder's time zero
        self._discarding = False  # dropping the rest of an over-long utterance
        self._cut_at = 0.0  # stream time it was cut
        self._clear_utterance()

    # ------------------------------------------------------------ grammar

    def _known_phrases(self, vocabulary: dict[str, Intent]) -> dict[str, Intent]:
        """The phrases whose every word the model knows (the others are dropped, each
        with a warning; when it knows none, the caller's one error says so)."""
        known: dict[str, Intent] = {}
        dropped: list[tuple[str, Intent, list[str]]] = []
        for phrase, intent in vocabulary.items():
            missing = [w for w in phrase.split() if self.model.vosk_model_find_word(w) < 0]
            if missing:
                dropped.append((phrase, intent, missing))
            else:
                known[phrase] = intent
        for phrase, intent, missing in dropped if known else []:
            log.warning(
                "dropping %r (%s): the Vosk model in %s does not know %s",
                phrase,
                intent.value,
                self.model_path,
                ", ".join(missing),
            )
        return known

    def _new_kaldi(self, phrases: frozenset[str]) -> Any:
        if not phrases:
            return None
        grammar = sorted(phrases) + ([UNK] if self.has_unk else [])
        rec = self._vosk.KaldiRecognizer(
            self.model, ASR_RATE, json.dumps(grammar, ensure_ascii=False)
        )
        rec.SetWords(True)
        return rec

    def _decoder_for(self, phrases: frozenset[str]) -> _Decoder:
        decoder = self._decoders.get(phrases)
        if decoder is None:
            decoder = _Decoder(phrases, self._new_kaldi(phrases))
            self._decoders[phrases] = decoder
            while len(self._decoders) > _CACHE:
                self._decoders.popitem(last=False)
        self._decoders.move_to_end(phrases)
        return decoder

    def set_active(self, intents: frozenset[Intent] | None) -> None:
        """Listen only for the phrases of ``intents`` (None = all).

        An utterance already being decoded finishes with the grammar it started with;
        the new one applies from the next utterance.
        """
        phrases = frozenset(restrict(self.vocabulary, intents))
        self._pending = None if phrases == self._decoder.phrases else phrases
        if not self._in_utterance():
            self._switch()

    def set_early_end(self, intents: frozenset[Intent] | None) -> None:
        """Which commands may end an utterance early (None = every one): see
        :meth:`_ends_early`."""
        self._early = intents

    def _ends_early(self, text: str, now: float) -> bool:
        """Whether the stable hypothesis ``text`` ends its utterance now, before Vosk's
        own endpoint (about 0.9 s after the last word): it is a whole active command
        that may end early (``set_early_end``), no phrase of another intent starts
        with it ("go" may become "go back"), and the sound has been quiet for
        ``AsrSettings.phrase_silence`` (``safety_silence`` for a safety command while
        only those may end early), as PocketSphinx's early end."""
        intent = self.vocabulary.get(text)
        if intent is None or text not in self._decoder.phrases:
            return False
        if self._early is not None and intent not in self._early:
            return False
        safety_only = self._early is not None and self._early <= SAFETY_INTENTS
        wait = self.settings.phrase_silence
        if safety_only and intent in SAFETY_INTENTS or wait is None:
            wait = self.settings.safety_silence if intent in SAFETY_INTENTS else None
        if wait is None or wait >= self.settings.vad_silence:
            return False
        if any(
            phrase.startswith(text + " ") and other is not intent
            for phrase, other in self.vocabulary.items()
            if phrase in self._decoder.phrases
        ):
            return False
        last = self._onsets.last_loud
        started = self._utt_start if self._utt_start is not None else now
        return started <= last and now - last >= wait

    def _switch(self) -> None:
        if self._pending is None:
            return
        if self._decoder.rec is not None:
            _drop(self._decoder.rec)  # it may be used again later: start it clean
        self._decoder = self._decoder_for(self._pending)
        self._pending = None
        self._clear_utterance()

    # ----------------------------------------------------------- streaming

    def _clear_utterance(self) -> None:
        self._utt_start: float | None = None  # when a hypothesis first appeared
        self._partial = ""
        self._partial_since = 0.0  # stream time the current hypothesis appeared
        self._early_start: float | None = None  # the early result's start, once sent

    def _in_utterance(self) -> bool:
        # Sound not yet in a hypothesis counts: switching grammars there dropped the
        # start of a word, and the new decoder missed it or heard another command.
        return (
            self._utt_start is not None
            or self._discarding
            or self._onsets.sounding(self.settings.max_utterance)
        )

    def _new_talk(self) -> TalkAttenuator | None:
        return new_attenuator() if self.settings.talk_gate else None

    def accept(self, chunk: AudioChunk) -> list[Recognition]:
        """Feed 16 kHz mono int16 audio; return results for utterances that ended,
        and an early result for a safety command as soon as it is clear."""
        check_format(chunk)
        audio = chunk.audio if self._talk is None else self._talk.process(chunk.audio)
        out: list[Recognition] = []
        step = _PIECE * 2
        for i in range(0, len(audio), step):
            pcm = audio[i : i + step]
            start = chunk.timestamp + i / 2 / ASR_RATE
            result = self._feed(pcm, start, start + len(pcm) / 2 / ASR_RATE)
            if result is not None:
                out.append(result)
        return out

    def _feed(self, pcm: bytes, start: float, end: float) -> Recognition | None:
        if not self._in_utterance():
            self._switch()
        self._onsets.feed(start, end, pcm)
        decoder = self._decoder
        if decoder.rec is None:
            return None
        onset = self._onsets.onset
        if self._discarding and onset is not None and onset > self._cut_at:
            # Sound again after a pause: the over-long utterance is over, and what the
            # decoder still holds of it must not run into what comes now.
            _drop(decoder.rec)
            self._discarding = False
        offset = self._offset = start - decoder.fed / ASR_RATE  # stream time of its zero
        decoder.fed += len(pcm) // 2
        if decoder.rec.AcceptWaveform(pcm):
            return self._finish(json.loads(decoder.rec.Result()), offset, end)
        if self._discarding:
            return None
        text = json.loads(decoder.rec.PartialResult()).get("partial", "")
        if not text:
            return None
        if self._utt_start is None:
            self._utt_start = self._run_start(end)
        # Speech so far: up to the last loud piece, not to now (Vosk's endpoint comes
        # a good half second after the last word).
        last_loud = self._onsets.last_loud
        speech_end = last_loud if self._utt_start <= last_loud <= end else end
        if speech_end - self._utt_start > self.settings.max_utterance:
            return self._cut(json.loads(decoder.rec.FinalResult()), offset, end)
        if text != self._partial:
            self._partial, self._partial_since = text, start
            return None
        if self._ends_early(text, end):
            return self._finish(json.loads(decoder.rec.FinalResult()), offset, end)
        intent = self.vocabulary.get(text)
        if (
            self.early_safety
            and intent in SAFETY_INTENTS
            and end - self._partial_since >= PARTIAL_STABLE
            and self._early_start is None
        ):
            # Vosk gives partial hypotheses no confidence; the final result will.
            start = self._early_start = _ms(self._run_start(end))
            return Recognition(intent, text, 1.0, start, _ms(end), partial=True)
        return None

    def _run_start(self, now: float) -> float:
        """Start of the sound being decoded: the loudness onset, within reason."""
        onset = self._onsets.onset
        earliest = now - self.settings.max_utterance
        if onset is None or onset > now or onset < earliest:
            return max(earliest, now - 1.0)
        return onset

    def _finish(self, result: dict[str, Any], offset: float, now: float) -> Recognition | None:
        """An utterance ended at Vosk's endpoint."""
        discarding, early = self._discarding, self._early_start
        self._discarding = False
        self._clear_utterance()
        if discarding:
            log.debug("dropped the rest of an over-long utterance: %r", result.get("text"))
            return None
        r = self._recognition(result, offset, now)
        if r is not None and early is not None:
            # The early result was timed from the start of the run of sound, which a
            # breath just before the word begins; the live loop pairs the two by their
            # start, and acted on an unpaired final result a second time.
            r = replace(r, start=early)
        return r

    def _cut(self, result: dict[str, Any], offset: float, now: float) -> Recognition:
        """An utterance ran past ``max_utterance``: end it as not a command and drop the
        rest of it (up to Vosk's next endpoint, or sound again after a pause)."""
        start = self._utt_start if self._utt_start is not None else now
        self._clear_utterance()
        self._discarding = True
        self._cut_at = now
        r = self._recognition(result, offset, now)
        text = r.text if r is not None else ""
        log.info("longer than %.1f s, not a command: %r", self.settings.max_utterance, text)
        confidence = r.confidence if r is not None else 0.0
        return Recognition(None, text, confidence, _ms(start), _ms(now))

    def _recognition(self, result: dict[str, Any], offset: float, now: float) -> Recognition | None:
        """The Recognition of a final Vosk result (None for an empty one)."""
        text = " ".join(result.get("text", "").split())
        if not text:
            return None
        words = result.get("result") or []
        confidence = min((float(w.get("conf", 0.0)) for w in words), default=0.0)
        start = float(words[0]["start"]) + offset if words else now
        end = float(words[-1]["end"]) + offset if words else now
        intent = None if UNK in text.split() else self.vocabulary.get(text)
        if intent is not None and confidence < self.threshold:
            log.info("rejected %r: confidence %.2f < %.2f", text, confidence, self.threshold)
            intent = None
        return Recognition(intent, text, confidence, _ms(start), _ms(end))

    def flush(self) -> list[Recognition]:
        """End of stream: finish the utterance in progress."""
        self._talk = self._new_talk()  # what comes next is another stream
        decoder = self._decoder
        if decoder.rec is None:
            return []
        now = self._offset + decoder.fed / ASR_RATE
        r = self._finish(json.loads(decoder.rec.FinalResult()), self._offset, now)
        return [r] if r is not None else []

    def reset(self) -> None:
        """Drop any utterance in progress (e.g. after the coach's own speech)."""
        if self._decoder.rec is not None:
            _drop(self._decoder.rec)
        self._discarding = False
        self._clear_utterance()
        self._switch()
        self._talk = self._new_talk()  # a new stream, perhaps elsewhere

    # ------------------------------------------------------------ one-shot

    def recognize_utterance(self, chunk: AudioChunk) -> Recognition:
        """Treat ``chunk`` (16 kHz mono) as one whole utterance, every intent active.

        Each piece Vosk's endpointing cuts it into is decided alone, as a stream
        decides it, and the file gives the command they agree on
        (:func:`.wholefile.one_command`): a click Vosk hears as a word of its own,
        rejected alone, no longer hides the command after it."""
        check_format(chunk)
        rec = self._new_kaldi(self._all)
        talk = self._new_talk()
        audio = chunk.audio if talk is None else talk.process(chunk.audio)
        results = []
        step = _PIECE * 2
        for i in range(0, len(audio), step):
            if rec.AcceptWaveform(audio[i : i + step]):
                results.append(json.loads(rec.Result()))
        results.append(json.loads(rec.FinalResult()))
        pieces = [self._recognition(r, chunk.timestamp, chunk.end) for r in results]
        heard = [r for r in pieces if r is not None]
        if not heard:
            return Recognition(None, "", 0.0, chunk.timestamp, chunk.end)
        return one_command(heard)

    def describe(self) -> str:
        """One line for ``voicecoach check``."""
        filler = "[unk] filler" if self.has_unk else "no [unk] in the model"
        early = "early safety commands" if self.early_safety else "no early results"
        return (
            f"vosk, model {self.model_path.name} ({self.model_path}), threshold "
            f"{self.threshold:.2f}, {len(self.vocabulary)} phrases, {filler}, {early}"
        )
