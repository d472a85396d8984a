"""PocketSphinx, the embedded default: its English model ships in the ``pocketsphinx`` wheel.

How an utterance becomes a command (the measurements behind each step, and what was
tried and dropped, are in ``docs/recognition.md``):

0. Faint noise (-66 dBFS, ``AsrSettings.noise_floor``) fills digital silence, so that a
   gating microphone's silence sounds like the quiet room the model knows. Background
   noise is then taken out (``AsrSettings.denoise``): RNNoise
   (:mod:`voicecoach.audio.rnnoise`), or where its library is not installed a Wiener
   filter (:mod:`voicecoach.audio.denoise`). In steady noise the voice detector
   otherwise calls everything speech and no utterance ever ends.
1. PocketSphinx's voice activity detection finds speech (:mod:`.endpoint`, with an
   easier start, :data:`START_RATIO`); only speech is decoded. While a television or a
   radio talks on, only frames clearly louder than that talk count (:mod:`.talk`).
   About ``AsrSettings.vad_silence`` of silence ends an utterance; a whole command that
   no other intent's command starts with ("next", but not "go", which may become "go
   back") ends it after a shorter pause (``AsrSettings.phrase_silence``;
   ``AsrSettings.safety_silence`` for the safety commands, the only ones that may
   while the coach is heard: :meth:`PocketSphinxRecognizer.set_early_end`). Over the
   coach, a partial result that reads a whole safety command and passes the checks of
   step 3 comes out at once as a provisional result, for the live loop to silence the
   coach (:meth:`PocketSphinxRecognizer._provisional`).
2. The speech is decoded, streaming, against a closed JSGF grammar of all the command
   phrases (:mod:`.sphinx`); a command not active at the moment comes out as not a
   command (:meth:`PocketSphinxRecognizer.set_active`).
3. Rejection, because a closed grammar forces every sound onto some command
   (:mod:`.rejection`): too long to be a command; too little of the sound covered by
   the command's words; a path that scores far below a free sequence of phones; and a
   second look at an utterance's loud stretch alone when quieter sound surrounds it.
4. A second model has its say (``AsrSettings.verify``, :mod:`.verify`): a classifier
   over a speech embedding of the two seconds up to just after the last word keeps,
   vetoes, or supplies the command (:meth:`PocketSphinxRecognizer._second_opinion`).

A whole file (``voicecoach recognize``) is cut where a stream would be cut and each
piece decided as a stream decides an utterance (:mod:`.wholefile`).

Measured on the evaluation set (``scripts/bench_asr.py``; figures in the README), this
still accepts about one in ten of the things that must be rejected and hears about two
commands in three; in babble, far fewer. PocketSphinx's acoustic model fits espeak-ng
speech poorly. Vosk with an English model is the better choice where it can be
installed.
"""

from __future__ import annotations

import logging
import math
import warnings
from collections import deque
from typing import Any

import numpy as np

from ..audio.chunk import ASR_RATE, AudioChunk
from ..audio.denoise import DELAY, NoiseFloor, NoiseSuppressor
from ..audio.rnnoise import DELAY as RN_DELAY
from ..audio.rnnoise import RnNoise
from ..audio.rnnoise import load_library as load_rnnoise
from ..commands import SAFETY_INTENTS, Intent, normalize
from ..errors import ModelError
from .base import (
    AsrSettings,
    Recognition,
    Vocabulary,
    check_format,
    default_vocabulary,
)
from .endpoint import Mark, Segmenter, TalkGate
from .rejection import (
    DEFAULT_THRESHOLD,
    PHONE_LOOP_WEIGHT,
    PHONE_MARGIN,
    PHRASE_RAISE,
    SAFETY_PHONE_MARGIN,
    least_coverage,
    least_phone_margin,
    loud_span,
)
from .sphinx import (
    BEAM,
    SILENCE_PROBABILITY,
    WORD_BEAM,
    coverage,
    import_pocketsphinx,
    jsgf,
    load_decoder,
    model_dir,
    phone_margin,
    read_pronunciations,
    whole_commands,
    words_end,
)
from .talk import level_db, new_talk_gate
from .verify import (
    AFTER,
    ALONE,
    ALONE_NEXT,
    CONFIRM,
    CONFIRM_NEXT,
    MIN_TAIL,
    CommandVerifier,
    StreamEmbeddings,
    quiet,
    words_window_end,
)
from .wholefile import FILE_TAIL, Span, at_file_level, is_quiet_between, one_command, speech_spans

log = logging.getLogger(__name__)

START_RATIO = 0.6
"""Speech starts when more than this share of the endpointer window's frames are speech
(7 of 10). PocketSphinx's own endpointer starts at the ending ratio, 0.9, so all 10
must be: a short word such as "wait" or "go" (9 frames with the detector's hangover)
never started an utterance and was not heard at all. Dev split, streamed (with
``SILENCE_PROBABILITY``): recall 42.3 -> 48.3 %, command taken for another 27.7 ->
20.0 %, false accepts 32.6 -> 28.8 %, hurt/stop taken for next 8 -> 2. At 0.5 (6 of
10) the fresh detector's first frames, which it calls speech in any low noise, started
an utterance at the start of a stream (clean recall 54 -> 27 %); at 0.7 recall and
false accepts were both worse than at 0.6. The cost: in loud steady noise (-30 dBFS)
the noise suppressor's residue starts utterances more easily, and one may run into the
talker's words."""

EARLY_MAX_TAIL = 0.45
"""Most seconds the decoder may put after the last word at a pause's first silent frame
for the utterance to end early (espeak-ng commands: 0.01-0.40, mostly the detector's
hangover)."""


class PocketSphinxRecognizer:
    """Streaming command recognition with PocketSphinx (see the module doc)."""

    name = "pocketsphinx"

    def __init__(
        self,
        vocabulary: Vocabulary | None = None,
        settings: AsrSettings = AsrSettings(),  # noqa: B008 - frozen, shared safely
    ) -> None:
        """Load the wheel's English model with a dictionary of just the command words."""
        self._ps = import_pocketsphinx()
        self.settings = settings
        self.threshold = settings.threshold if settings.threshold is not None else DEFAULT_THRESHOLD
        self.model = model_dir(self._ps)
        dictionary = self.model / "cmudict-en-us.dict"
        acoustic = self.model / "en-us"
        if not acoustic.is_dir() or not dictionary.is_file():
            raise ModelError(
                f"PocketSphinx's English model is missing from {self.model}: reinstall it "
                "with `pip install --force-reinstall pocketsphinx`"
            )
        wanted = dict(vocabulary) if vocabulary is not None else default_vocabulary()
        wanted = {normalize(p): i for p, i in wanted.items()}
        words = {w for p in wanted for w in p.split()}
        pron = read_pronunciations(dictionary, words)
        missing = sorted(words - set(pron))
        if missing:
            log.warning(
                "PocketSphinx's dictionary lacks %s: phrases with them are dropped",
                ", ".join(missing),
            )
        self.vocabulary = {p: i for p, i in wanted.items() if all(w in pron for w in p.split())}
        if not self.vocabulary:
            raise ModelError("none of the command phrases is in PocketSphinx's dictionary")
        lines = [line for lines in pron.values() for line in lines]
        self._decoder = load_decoder(
            self._ps, acoustic, lines, silprob=SILENCE_PROBABILITY, beam=BEAM, wbeam=WORD_BEAM
        )
        phone_lm = self.model / "en-us-phone.lm.bin"
        if not phone_lm.is_file():
            raise ModelError(
                f"PocketSphinx's phone model {phone_lm} is missing: reinstall it with "
                "`pip install --force-reinstall pocketsphinx`"
            )
        # The second pass: the same audio decoded as any sequence of phones.
        self._phones = load_decoder(
            self._ps, acoustic, lines, allphone=str(phone_lm), lw=PHONE_LOOP_WEIGHT
        )
        self._cmn0 = self._decoder.get_cmn(False)  # the model's initial cepstral mean
        self._decoder.add_jsgf_string("commands", jsgf(self.vocabulary))
        self._decoder.activate_search("commands")
        self._active: frozenset[Intent] | None = None
        self._whole = whole_commands(self.vocabulary)
        self._vad = self._ps.Vad(sample_rate=ASR_RATE)
        self._frame_bytes = self._vad.frame_bytes
        # The noise suppressor (RNNoise where its library is installed, else the Wiener
        # filter) and its delay. The silence it hands out first is dropped, so the voice
        # activity detector's frames start at the stream's first sample.
        self._use_rnnoise = settings.denoise and settings.rnnoise and self._rnnoise_loads()
        self._use_wiener = settings.denoise and not self._use_rnnoise
        self._delay = RN_DELAY if self._use_rnnoise else DELAY if self._use_wiener else 0
        self._rnnoise = self._new_rnnoise()
        self._denoiser = self._new_denoiser()
        self._lead = self._delay  # samples of the delay's silence not dropped yet
        self._floor = NoiseFloor(settings.noise_floor) if settings.noise_floor > 0 else None
        self.verify_problem: str | None = None  # why the verifier did not load
        self.engine_problem: str | None = None  # why the Vosk model found was not used
        self._verifier = self._new_verifier(settings) if settings.verify else None
        # The stream's embeddings for the verifier, computed while speech is heard.
        self._embeddings = (
            StreamEmbeddings(self._verifier.embedding) if self._verifier is not None else None
        )
        self._frame_seconds = self._vad.frame_length
        self._frate = int(self._decoder.config["frate"])
        self._segmenter = self._new_segmenter()
        self._gate = self._new_gate()
        self._recent: deque[bytes] = deque(maxlen=self._segmenter.window)
        self._utt_frames: list[bytes] = []  # the frames decoded in this utterance
        self._cmn_start = self._cmn0  # the cepstral mean when this utterance started
        self._pending: Recognition | None = None  # the verdict if the pause ends it
        self._end_at: int | None = None  # silent frames in a pause at which it may end early
        self._held: list[bytes] = []  # silent frames of a pause, not decoded yet
        self._phrase_silence = self._early_silence(self.settings.phrase_silence)
        self._safety_silence = self._early_silence(self.settings.safety_silence)
        self._early: frozenset[Intent] | None = None  # set_early_end(); None = all
        self._buffer = b""
        self._buffer_time: float | None = None  # clock time of the buffer's first sample
        self._anchor = (0.0, 0.0)  # (endpointer seconds, clock seconds) of a known sample
        self._fed = 0.0  # endpointer seconds fed so far
        self._heard = 0.0  # stream time at the end of the last chunk given
        self._in_utt = False
        self._discarding = False
        self._start = 0.0
        self._read_safety = False  # this utterance's provisional result was given

    # ---------------------------------------------------------------- set-up

    @staticmethod
    def _rnnoise_loads() -> bool:
        try:
            load_rnnoise()
        except ModelError as exc:
            log.warning(
                "%s; the Wiener filter takes its place, hearing fewer commands in noise", exc
            )
            return False
        return True

    def _new_verifier(self, settings: AsrSettings) -> CommandVerifier | None:
        threshold = settings.verify_threshold
        try:
            return CommandVerifier() if threshold is None else CommandVerifier(threshold)
        except ModelError as exc:
            log.warning("%s; every command PocketSphinx hears is taken unchecked", exc)
            self.verify_problem = exc.message
            return None

    def _second_opinion(
        self,
        fitting: Intent | None,
        read: Intent | None,
        audio: np.ndarray | None,
        searched: bool = True,
    ) -> Intent | None:
        """The command acted on, given the one PocketSphinx's checks let through
        (``fitting``), the one its grammar read whether or not they did (``read``), and
        the classifier's probabilities for the audio (a whole file's, cut
        :data:`.verify.AFTER` past the last word where quiet follows it; when None, the
        stream's embeddings up to the last 80 ms step or to that point,
        :meth:`_past_words`). Without the classifier, or where it is not asked
        (:meth:`_checked`), ``fitting``.

        - ``fitting`` stands if the classifier gives it at least its threshold
          (:meth:`.CommandVerifier.least`);
        - else ``read`` stands if the classifier gives it at least :data:`CONFIRM`
          (:data:`CONFIRM_NEXT` for next):
          PocketSphinx's coverage and phone-loop checks drop a third of the commands
          its grammar reads right, most of them in noise;
        - else the classifier's own best class stands if it gets at least :data:`ALONE`
          (:data:`ALONE_NEXT` for next) and is active; but not where the grammar's
          search kept no path at all (not ``searched``: no words read, not even a
          command's). Whole files (``voicecoach recognize``), 2026-11-29: there it
          gave 21 of the 158 false accepts on real people's recordings (``eval/real``;
          "it hurts" for "today", "fifty", "eight", letters), and on the synthetic
          sets 11 commands heard, 5 taken for another and 2 false accepts (dev, test
          and the room copy's test split, 3 170 commands).
        """
        if self._verifier is None or not self._may_check():
            return fitting  # no active command could be checked (nor come from it)
        if fitting is not None and not self._checked(fitting):
            return fitting
        if not searched:
            return None  # nothing read: the classifier alone is not enough
        if audio is not None:
            p = self._verifier.probabilities(audio)
        else:
            assert self._embeddings is not None
            p = self._verifier.classify(self._embeddings.ending(self._past_words()))
        if fitting is not None and p.get(fitting, 1.0) >= self._verifier.least(fitting):
            return fitting
        confirm = CONFIRM_NEXT if read is Intent.NEXT else CONFIRM
        if read is not None and self._checked(read) and p.get(read, 0.0) >= confirm:
            return read
        best = max(p, key=lambda c: p[c])
        alone = ALONE_NEXT if best is Intent.NEXT else ALONE
        if best is not None and self._checked(best) and p[best] >= alone and self._on(best):
            return best
        if fitting is not None or read is not None:
            log.debug("the command check hears neither %s nor %s", fitting, read)
        return None

    def _on(self, intent: Intent) -> bool:
        """Whether ``intent`` is active (:meth:`set_active`)."""
        return self._active is None or intent in self._active

    def _checked(self, intent: Intent) -> bool:
        """Whether the classifier has a say on a command of ``intent`` heard now.

        Not on a safety command while the early end is kept to the safety commands
        (the live loop's setting while the coach is heard): the classifier never heard
        a voice over the canceller's leftover echo, and there it vetoed a pain report
        (``scripts/bench_aec.py`` seed 1: 39 of 43 barge-ins heard without the check,
        38 with it) while the echo's own safety commands stayed as many (0 and 2 in
        seeds 1 and 2).

        Nor on any command while the talk gate acts (a television talks on): the
        classifier has heard talk only before a command, not under it, and there it
        vetoed a third of the commands (``scripts/bench_background.py``, test split,
        talk 20 dB below: 89.3 -> 62.9 % heard, the reader's false commands 1 -> 2).
        """
        if self._verifier is None or (self._gate is not None and self._gate.active):
            return False
        return not (intent in SAFETY_INTENTS and self._early is not None)

    def _may_check(self) -> bool:
        """Whether any active command heard now would be checked: then the stream's
        embeddings are kept up to date while speech is heard (the verdict computes
        any missing)."""
        active = self._active if self._active is not None else self.vocabulary.values()
        return any(self._checked(i) for i in active)

    def _new_rnnoise(self) -> RnNoise | None:
        """RNNoise for a new stream, if it is the noise suppressor."""
        return RnNoise() if self._use_rnnoise else None

    def _new_denoiser(self) -> NoiseSuppressor | None:
        """The Wiener filter for a new stream, if it is the noise suppressor."""
        return NoiseSuppressor() if self._use_wiener else None

    def _suppress(self, samples: np.ndarray) -> np.ndarray:
        """The noise suppressor over ``samples`` (int16), :attr:`_delay` late."""
        if self._rnnoise is not None:
            return self._rnnoise.process(samples)
        if self._denoiser is not None:
            return self._denoiser.process(samples)
        return samples

    def _restart_noise_statistics(self) -> None:
        """Forget the noise PocketSphinx's own noise removal learnt (kept across
        utterances otherwise); ``start_stream`` does only that, and warns it is
        deprecated because streaming callers need not call it."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            self._decoder.start_stream()
            self._phones.start_stream()

    def _early_silence(self, seconds: float | None) -> float | None:
        """An early end's silence, or None where it is off (or no shorter than the
        endpointer's own)."""
        return seconds if seconds is not None and 0.0 < seconds < self._window() else None

    def _window(self) -> float:
        return max(0.15, min(self.settings.vad_silence, 1.0))

    def _new_segmenter(self) -> Segmenter:
        return Segmenter(
            round(self._window() / self._frame_seconds), ratio=0.9, start_ratio=START_RATIO
        )

    def _new_gate(self) -> TalkGate | None:
        return new_talk_gate(self._frame_seconds) if self.settings.talk_gate else None

    def _is_speech(self, frame: bytes) -> bool:
        """The detector's verdict on ``frame``, through the talk gate."""
        flag = bool(self._vad.is_speech(frame))
        if self._gate is None:
            return flag
        return self._gate.push(flag, level_db(frame))

    def set_active(self, intents: frozenset[Intent] | None) -> None:
        """Act only on these intents (None = all).

        The grammar itself always holds every phrase: a closed grammar of only the
        active phrases forces an inactive command onto an active one ("no" heard as
        "go" while the coach waits for "next"). An inactive command comes out as
        not a command, with its words.
        """
        self._active = intents

    def set_early_end(self, intents: frozenset[Intent] | None) -> None:
        """Let only these intents' whole commands end an utterance after a short pause
        (None = every intent's; still only the safety commands' unless
        ``AsrSettings.phrase_silence`` is set). The live loop passes the safety
        commands alone except while the coach waits for the user in silence: over the
        coach only they are acted on, and the canceller's leftover echo is then cut
        as it was measured with ``scripts/bench_aec.py``."""
        self._early = intents

    def _early_wait(self) -> float | None:
        """The silence after a whole command that ends its utterance early now (None =
        never): ``safety_silence`` while only the safety commands may (the coach is
        heard: a barge-in), else ``phrase_silence``; either stands in for the other
        where it is off."""
        safety_only = self._early is not None and self._early <= SAFETY_INTENTS
        if (safety_only or self._phrase_silence is None) and self._safety_silence is not None:
            return self._safety_silence
        return self._phrase_silence

    def _may_end_early(self, intent: Intent) -> bool:
        """Whether a whole command of ``intent`` may end its utterance early."""
        return (
            (self._active is None or intent in self._active)
            and (self._early is None or intent in self._early)
            and (self._phrase_silence is not None or intent in SAFETY_INTENTS)
        )

    def _starts_of_early_commands(self) -> frozenset[str]:
        """What a partial result may read when the utterance may end early: a whole
        command that may, or the start of one."""
        return frozenset(
            " ".join(words[:n])
            for phrase, intent in self._whole.items()
            if self._may_end_early(intent)
            for words in [phrase.split()]
            for n in range(1, len(words) + 1)
        )

    # -------------------------------------------------------------- streaming

    def _clock(self, ep_seconds: float) -> float:
        ep0, clock0 = self._anchor
        return clock0 + (ep_seconds - ep0)

    def accept(self, chunk: AudioChunk) -> list[Recognition]:
        """Feed audio; return a result for each utterance that ended in it."""
        check_format(chunk)
        self._heard = chunk.end
        if self._embeddings is not None:
            self._embeddings.push(np.frombuffer(chunk.audio, dtype="<i2"))
        if self._floor is not None:
            samples = self._floor.process(np.frombuffer(chunk.audio, dtype="<i2"))
            chunk = AudioChunk(samples.tobytes(), ASR_RATE, timestamp=chunk.timestamp)
        if self._delay:
            # The suppressor's output is late: stamp it where it was said. Its first
            # samples out are the delay's silence, not audio: digital zero that the
            # voice detector would learn as the room, and call the room speech after it.
            samples = self._suppress(np.frombuffer(chunk.audio, dtype="<i2"))
            skip = min(self._lead, len(samples))
            self._lead -= skip
            chunk = AudioChunk(
                samples[skip:].astype("<i2").tobytes(),
                ASR_RATE,
                timestamp=chunk.timestamp + (skip - self._delay) / ASR_RATE,
            )
            if not chunk.audio:
                return []
        if not self._buffer:
            self._anchor = (self._fed, chunk.timestamp)
        self._buffer += chunk.audio
        out: list[Recognition] = []
        fb = self._frame_bytes
        while len(self._buffer) >= fb:
            frame, self._buffer = self._buffer[:fb], self._buffer[fb:]
            result = self._frame(frame)
            self._fed += fb / 2 / ASR_RATE
            if result is not None:
                out.append(result)
        if self._buffer:
            # Keep the anchor on the first sample still buffered.
            self._anchor = (self._fed, chunk.end - len(self._buffer) / 2 / ASR_RATE)
        if self._in_utt and self._embeddings is not None and self._may_check():
            self._embeddings.update()  # so that the verdict finds them done
        provisional = self._provisional()
        if provisional is not None:
            out.append(provisional)
        return out

    def _provisional(self) -> Recognition | None:
        """The utterance's provisional result (:attr:`Recognition.provisional`), once:
        while only the safety commands may end an utterance early (the coach is heard)
        and no television talks on (:class:`.TalkGate`), the first time the decoder's
        partial result reads a whole active safety command that passes the coverage and
        phone-loop checks a final one must pass, on what is decoded so far. The command
        check by speech embedding has no say (nor has it on a final safety command while
        the coach is heard, :meth:`_checked`). The live loop silences the coach for it
        until the final result.

        Over the coach's echo, through the canceller (``scripts/bench_aec.py`` streams,
        600 s each, seeds 1 and 2): it came for 34 of 43 and 41 of 52 barge-ins, at the
        median 23 and 36 ms before the end of their words (the last sample above 2 % of
        the peak) and at most 84 ms after it, where the final results came 224 and
        233 ms after it (at most 430 and 492 ms); the echo alone gave one, 1.3 s into a
        stream, before the canceller had converged, in the 982 s the coach spoke.
        On the evaluation set's dev split, streamed as the coach speaks (each file on its
        own, so every utterance is a candidate), it came for 69.3 % of the safety
        commands (a final safety result: 66.4 %), and for 15.4 % of the other commands,
        12.5 % of the noises, 22.1 % of the single words and about half of the sentences
        (read speech 50.5 %, sentences with command words 41.9 %): someone talking over
        the coach silences it until the talk's utterance is over. Without the checks:
        71.1 % of the safety commands, 61.2 % of the read speech.
        """
        if (
            self._read_safety
            or not self._in_utt
            or self._pending is not None
            or self._early is None
            or not self._early <= SAFETY_INTENTS
            or (self._gate is not None and self._gate.active)
        ):
            return None
        hyp = self._decoder.hyp()
        text = hyp.hypstr if hyp is not None else ""
        intent = self._whole.get(text)
        if intent is None or intent not in SAFETY_INTENTS or not self._on(intent):
            return None
        # The checks a final safety command must pass, on what is decoded so far.
        if self._coverage() < least_coverage(text, intent, self.threshold):
            return None
        if self._phone_margin() < SAFETY_PHONE_MARGIN:
            return None
        self._read_safety = True
        return Recognition(
            intent, text, 0.0, self._start, self._heard, partial=True, provisional=True
        )

    def _frame(self, frame: bytes) -> Recognition | None:
        seg = self._segmenter
        self._recent.append(frame)
        mark = seg.push(self._is_speech(frame))
        if mark is Mark.NONE and not seg.in_speech:
            return None
        if mark is Mark.START:
            self._begin(seg.start_frame, seg.speech_frame)
            return None
        if self._discarding:
            if mark is Mark.END:
                self._discarding = False
            return None
        if mark is Mark.END:
            return self._end()
        if seg.silence == 0:
            self._resume()
            self._decode(frame)
        elif seg.silence == 1:
            # Decoded now, as PocketSphinx's endpointer hands the decoder the first
            # silent frame; the rest of a pause only once speech resumes.
            self._decode(frame)
            self._end_at = self._early_end() if self._early_wait() is not None else None
        else:
            self._held.append(frame)
        fed = seg.frames * self._frame_seconds
        if fed - seg.start_frame * self._frame_seconds > self.settings.max_utterance:
            return self._too_long(self._clock(fed))
        if self._end_at is not None and seg.silence == self._end_at:
            self._end_at = None
            # The decoder has heard what the long silence would give it (the held frames
            # are not decoded), so this is that verdict.
            held = self._held
            r = self._end(early=True)
            if r.intent is not None and self._ends_early(r.text):
                seg.end()
                return r
            # Not one to act on early after all: kept for the long silence, unless
            # speech resumes.
            self._pending, self._held, self._in_utt = r, held, True
        return None

    def _decode(self, frame: bytes) -> None:
        self._decoder.process_raw(frame)
        self._phones.process_raw(frame)
        self._utt_frames.append(frame)

    def _ends_early(self, text: str) -> bool:
        """Whether the words ``text``, as a whole utterance, may end it early."""
        intent = self._whole.get(text)
        return intent is not None and self._may_end_early(intent)

    def _early_end(self) -> int | None:
        """At a pause's first silent frame: the count of silent frames at which to end
        the utterance early, or None to wait for the long silence.

        Nothing is ended here. At that count the utterance is ended, and if its verdict
        is a whole command that may end early it is taken; the verdict is the one the
        long silence would give, since the decoder has heard the same audio (the held
        frames of the pause are not decoded). The count is where the decoder's
        alignment puts :meth:`_early_wait` of silence after the last word;
        the alignment measures the silence better than the voice activity flags, which
        stay on for 0.1-0.2 s after speech (the detector's hangover).

        It is counted only when the decoder's partial result (which ends nothing) reads
        such a command or the start of one: the partial result need not end where the
        grammar does (a "next" read "it", the start of "it hurts"), so only a partial
        that is not even a start rules the early end out. Ending the utterance for a
        verdict at every pause instead, and decoding it again from its start when speech
        resumed, cost more: dev split, streamed, early end for the safety commands, false
        accepts 22.7 % that way, 21.9 % this way, 20.8 % without. (A second decoding is
        not the same as the first, as PocketSphinx's own noise estimate has moved on.)

        Nor does it end early when the detector heard speech long after the last word
        (``EARLY_MAX_TAIL``): the decoder fitted a command to part of the sound and
        called the rest silence, e.g. the coach's echo taken for "faster" and the
        user's "it hurts" after it, cut at a one-frame dip.
        """
        hyp = self._decoder.hyp()
        if hyp is None or hyp.hypstr not in self._starts_of_early_commands():
            return None
        after = self._silence_after_words()
        if after > EARLY_MAX_TAIL:
            return None
        wait = self._early_wait()
        assert wait is not None
        missing = wait - after
        return 1 + max(0, math.ceil(missing / self._frame_seconds - 1e-9))

    def _resume(self) -> None:
        """Speech again in a pause: the utterance goes on (decoded again from its start,
        from the same cepstral mean, if it was ended for a verdict), pause included."""
        held, self._held = self._held, []
        if self._pending is not None:
            self._pending = None
            self._start_utt(self._cmn_start)
            frames, self._utt_frames = self._utt_frames, []
            held = frames + held
        for frame in held:
            self._decode(frame)

    def _take_pending(self) -> Recognition:
        r, self._pending = self._pending, None
        assert r is not None
        self._in_utt = False
        self._held = []
        return r

    def _begin(self, start_frame: int, speech_frame: int) -> None:
        self._cmn_start = self._decoder.get_cmn(False)
        self._start_utt()
        self._in_utt = True
        self._start = self._clock(speech_frame * self._frame_seconds)
        self._read_safety = False
        self._pending = None
        self._end_at = None
        self._held = []
        # The frames that started the utterance, a window back, are decoded now.
        self._utt_frames = []
        back = self._segmenter.frames - start_frame
        for frame in list(self._recent)[len(self._recent) - back :]:
            self._decode(frame)

    def _coverage(self) -> float:
        return coverage(self._decoder)

    def _phone_margin(self, speech: bytes | None = None) -> float:
        """:func:`.sphinx.phone_margin` of the utterance being decided.

        A stream's phone pass has heard each frame as it came; a whole file's
        ``speech`` is decoded in it only now, when there is a command to check (the
        phone pass costs more than the grammar's: ``voicecoach recognize`` on 300 of
        the evaluation set's command files took 21.7 s with every file decoded in both,
        17.0 s this way, 8.7 s with no phone pass).
        """
        if speech is not None:
            self._phones.set_cmn(self._cmn0)
            self._phones.start_utt()
            self._phones.process_raw(speech)
            self._phones.end_utt()
        return phone_margin(self._decoder, self._phones)

    def _start_utt(self, cmn: Any = None) -> None:
        """Start an utterance in both passes (from cepstral mean ``cmn`` if given)."""
        for d in (self._decoder, self._phones):
            if cmn is not None:
                d.set_cmn(cmn)
            d.start_utt()

    def _end_utt(self) -> None:
        self._decoder.end_utt()
        self._phones.end_utt()

    def _words_end(self) -> float | None:
        return words_end(self._decoder)

    def _silence_after_words(self) -> float:
        """Seconds the decoder's alignment of its last utterance puts after the last word."""
        end = self._words_end()
        return 0.0 if end is None else self._decoder.n_frames() / self._frate - end

    def _past_words(self) -> int:
        """Samples of the stream heard after :data:`.verify.AFTER` past the last word of the
        utterance being decided, where the classifier's window is to end (0 = it ends
        at the newest sample)."""
        end = self._words_end()
        if end is None or self._embeddings is None:
            return 0
        said = self._clock(self._segmenter.start_frame * self._frame_seconds + end)
        since = round((self._heard - said) * ASR_RATE)  # samples since the last word
        audio = self._embeddings.audio()
        return len(audio) - words_window_end(audio, len(audio) - since)

    def _too_long(self, now: float) -> Recognition:
        if self._pending is None:
            self._end_utt()
        self._pending = None
        self._held = []
        self._in_utt = False
        self._discarding = True
        return Recognition(None, "", 0.0, self._start, now)

    def _end(self, early: bool = False) -> Recognition:
        """End the utterance where the segmenter would end it now: the decoder has heard
        its speech and the first silent frame after it (``early``: at a pause, for a
        verdict that may not stand, so no second look, :meth:`_look_again`)."""
        if self._pending is not None:
            r = self._take_pending()
        else:
            self._end_utt()
            self._in_utt = False
            self._held = []
            end = self._clock(self._segmenter.end_here * self._frame_seconds)
            r = self._verdict(self._start, end)
        return r if early else self._or_second_look(r)

    def _or_second_look(
        self, r: Recognition, speech: bytes | None = None, raw: np.ndarray | None = None
    ) -> Recognition:
        """``r``, or if it is not a command, what a second look finds (:meth:`_look_again`)."""
        if r.intent is not None:
            return r
        return self._look_again(speech, raw, r.start, r.end) or r

    def _verdict(
        self,
        start: float,
        end: float,
        speech: bytes | None = None,
        audio: np.ndarray | None = None,
    ) -> Recognition:
        """Decide on the decoder's last utterance (for a whole file, its ``speech``,
        which the phone pass has not heard yet, and the file's ``audio`` as given)."""
        hyp = self._decoder.hyp()
        text = hyp.hypstr if hyp is not None else ""
        covered = self._coverage() if hyp is not None else 0.0
        intent = self.vocabulary.get(text)
        if intent is not None and not self._on(intent):
            intent = None
        if end - start > self.settings.max_utterance:
            return Recognition(None, text, covered, start, end)
        least = least_coverage(text, intent, self.threshold)
        margin = least_phone_margin(intent)
        fits = intent is not None and covered >= least and self._phone_margin(speech) >= margin
        heard = self._second_opinion(intent if fits else None, intent, audio, hyp is not None)
        if heard is not None and heard is not self.vocabulary.get(text):
            # The command check chose it: the text says the command acted on (the
            # transcript and the session log showed "help" for a "no"); the words read
            # are kept, for the echo guard too.
            phrase = next(p for p, i in self.vocabulary.items() if i is heard)
            return Recognition(heard, phrase, covered, start, end, read=text)
        return Recognition(heard, text, covered, start, end)

    def _look_again(
        self, speech: bytes | None, raw: np.ndarray | None, start: float, end: float
    ) -> Recognition | None:
        """A second look at an utterance that is not a command: when quieter sound
        surrounds its loud stretch (:func:`.rejection.loud_span`), that stretch alone is decoded
        again and decided as an utterance (the same checks, the classifier hearing the
        stretch and quiet after it); its command, if any, is the utterance's.

        A command said over talk well below it (someone in the next room, a television
        before the talk gate acts, :class:`.TalkGate`) or over steady noise came as one
        utterance with the sound before and after it, and the grammar put other words on
        that sound. Streamed (``scripts/bench_asr.py --streaming``), recall / command
        taken for another / false accepts: dev split 66.3 / 2.6 / 10.4 -> 67.6 / 3.1 /
        10.2 %, test 61.7 / 3.6 / 10.3 -> 63.2 / 3.6 / 10.2 % (test, at 20 dB SNR 77.8 ->
        80.3 %, at 10 dB 53.5 -> 55.4 %; "it hurts" and its synonyms 58.9 -> 62.9 %);
        the real-time factor did not move (0.085 and 0.083). Heard across a room
        (``scripts/make_room_set.py``), where the room's ringing and hiss surround the
        words: dev 63.0 / 4.4 / 7.6 -> 64.9 / 4.6 / 8.4 %, test 57.1 / 4.1 / 10.3 ->
        59.2 / 4.7 / 11.3 %, clean commands 72.5 -> 77.1 %. Tried first as a throwaway
        that streamed each rejected file's loud stretch again through the whole
        recognizer: dev 66.3 -> 69.0 % recall, false accepts 10.4 -> 11.5 %; the
        recognizer's noise suppressor and detector starting afresh on the cut audio
        added chances both ways.
        Only while every command may end early (the coach waits in silence; not over the
        coach, whose echo it would cut into commands), with the command check by speech
        embedding, and not while the talk gate acts.
        """
        if self._verifier is None or self._early is not None:
            return None
        if self._gate is not None and self._gate.active:
            return None
        cmn = self._cmn0
        if speech is None:  # a stream's utterance: the frames decoded, the stream's samples
            speech = b"".join(self._utt_frames)
            cmn = self._cmn_start
            raw = self._raw_under(start_frame=self._segmenter.start_frame, size=len(speech) // 2)
        if raw is None or len(raw) != len(speech) // 2:
            return None
        span = loud_span(raw)
        if span is None:
            return None
        first, last = span
        part = speech[2 * first : 2 * last]
        self._decoder.set_cmn(cmn)
        self._decoder.start_utt()
        self._decoder.process_raw(part)
        self._decoder.end_utt()
        words = self._words_end()
        if words is None:
            return None
        said = round(words * ASR_RATE)
        heard = raw[first:last]
        short = said + round(AFTER * ASR_RATE) - len(heard)
        if short > 0:
            heard = np.concatenate([heard, quiet(short)])
        heard = heard[: words_window_end(heard, said)]
        r = self._verdict(start, end, speech=part, audio=heard)
        return r if r.intent is not None else None

    def _raw_under(self, start_frame: int, size: int) -> np.ndarray | None:
        """The stream's samples (as heard, before the noise floor and suppressor) from
        the segmenter's frame ``start_frame`` on, ``size`` of them, if still held."""
        if self._embeddings is None:
            return None
        audio = self._embeddings.audio()
        t0 = self._clock(start_frame * self._frame_seconds)
        first = len(audio) - round((self._heard - t0) * ASR_RATE)
        if first < 0 or first + size > len(audio):
            return None
        return audio[first : first + size]

    def flush(self) -> list[Recognition]:
        """End of stream: finish an utterance in progress."""
        if not self._in_utt and not self._discarding:
            self.reset()
            return []
        seg = self._segmenter
        out = None
        if self._in_utt:
            rest = self._buffer[: self._frame_bytes]
            if seg.silence == 0 and rest:
                # Still speaking at the end: the last samples belong to the utterance.
                self._decode(rest)
                end = (seg.frames + len(rest) / self._frame_bytes) * self._frame_seconds
                self._end_utt()
                self._in_utt = False
                out = self._or_second_look(self._verdict(self._start, self._clock(end)))
            else:
                out = self._end()
        self.reset()
        return [out] if out is not None else []

    def reset(self) -> None:
        """Drop any utterance in progress."""
        if self._in_utt and self._pending is None:
            self._end_utt()
        self._pending = None
        self._held = []
        self._in_utt = False
        self._discarding = False
        self._buffer = b""
        self._segmenter = self._new_segmenter()
        self._gate = self._new_gate()
        self._vad = self._ps.Vad(sample_rate=ASR_RATE)  # it adapts to the noise it heard
        # A new stream, perhaps elsewhere.
        if self._rnnoise is not None:
            self._rnnoise.close()
        self._rnnoise = self._new_rnnoise()
        self._denoiser = self._new_denoiser()
        self._lead = self._delay
        if self._floor is not None:
            self._floor.restart()
        self._restart_noise_statistics()
        self._recent.clear()
        if self._embeddings is not None:
            self._embeddings.clear()
        self._fed = 0.0
        self._heard = 0.0

    # ---------------------------------------------------------- whole files

    def recognize_utterance(self, chunk: AudioChunk) -> Recognition:
        """``chunk`` (16 kHz mono) as one utterance, with every intent active.

        The file is split where a stream would split it (the same endpointing), and
        each piece of speech is decided as the live loop would decide it, the
        classifier hearing what a stream would have heard by that verdict. The file's
        command is the one its pieces agree on (see :func:`.wholefile.one_command`).
        """
        check_format(chunk)
        self.reset()
        saved, self._active = self._active, None
        try:
            chunk = at_file_level(chunk)
            # Quiet after a quiet file, as a stream has after its talker stops: a file
            # that stops at the words' last sound is heard to their end.
            tail = round(FILE_TAIL * ASR_RATE) if is_quiet_between(chunk) else 0
            audio = chunk.audio + bytes(2 * tail)
            if self._floor is not None:  # restarted by reset() above
                audio = self._floor.process(np.frombuffer(audio, dtype="<i2")).tobytes()
            if self._delay:  # the noise suppressor, not delayed
                samples = np.frombuffer(audio, dtype="<i2")
                padded = np.concatenate([samples, np.zeros(self._delay, np.int16)])
                audio = self._suppress(padded)[self._delay :].astype("<i2").tobytes()
            # The same endpointing as a stream's (a fresh detector: reset() above).
            spans = speech_spans(
                audio,
                self._frame_bytes,
                self._frame_seconds,
                self._new_segmenter(),
                self._is_speech,
            )
            if not spans:
                return Recognition(None, "", 0.0, chunk.timestamp, chunk.end)
            raw = np.frombuffer(chunk.audio, dtype="<i2")
            raw = np.concatenate([raw, quiet(tail)])
            pieces = [
                self._decide_span(audio, raw, span, chunk.timestamp, chunk.duration)
                for span in spans
            ]
            return one_command(pieces)
        finally:
            self._active = saved

    def _decide_span(
        self, audio: bytes, raw: np.ndarray, span: Span, t0: float, duration: float
    ) -> Recognition:
        """One piece of a whole file's speech (``audio`` after the noise floor and
        suppressor, ``raw`` as given; both with :data:`.wholefile.FILE_TAIL` of quiet after the
        file's ``duration``), decided as a stream decides an utterance."""
        start, end = t0 + min(span.talker, duration), t0 + min(span.end, duration)
        if span.end - span.start > self.settings.max_utterance:
            return Recognition(None, "", 0.0, start, end)
        speech = audio[2 * round(span.start * ASR_RATE) : 2 * round(span.end * ASR_RATE)]
        if not speech:
            return Recognition(None, "", 0.0, start, end)
        # Each piece starts from the model's cepstral mean and (reset() above) fresh
        # noise statistics, so the result does not depend on the files before it.
        self._decoder.set_cmn(self._cmn0)
        self._decoder.start_utt()
        self._decoder.process_raw(speech)
        self._decoder.end_utt()
        # The classifier hears what a stream had heard by its verdict.
        heard = raw[: round(span.verdict * ASR_RATE)]
        short = round((MIN_TAIL - (span.verdict - span.end)) * ASR_RATE)
        if short > 0:  # speech to the end: the classifier wants a pause after it
            heard = np.concatenate([heard, quiet(short)])
        words = self._words_end()
        if words is not None:  # the classifier hears up to AFTER past the last word
            heard = heard[: words_window_end(heard, round((span.start + words) * ASR_RATE))]
        under = raw[round(span.start * ASR_RATE) : round(span.start * ASR_RATE) + len(speech) // 2]
        return self._or_second_look(self._verdict(start, end, speech, heard), speech, under)

    def _suppressors(self) -> str:
        return "RNNoise" if self._use_rnnoise else "Wiener" if self._use_wiener else "off"

    def _floor_db(self) -> str:
        level = self.settings.noise_floor
        return f"{20 * math.log10(level):.0f} dBFS" if level > 0 else "off"

    def describe(self) -> str:
        """One line for ``voicecoach check``."""
        return (
            f"pocketsphinx {getattr(self._ps, '__version__', '')}".rstrip()
            + f", model {self.model} (ships in the wheel), {len(self.vocabulary)} phrases, "
            f"coverage threshold {self.threshold:g} "
            f"({least_coverage('stop', Intent.STOP, self.threshold):g} for safety commands, "
            f"more for {len(PHRASE_RAISE)} phrases), phone-loop check {PHONE_MARGIN:g} per frame "
            f"({SAFETY_PHONE_MARGIN:g} for safety commands), "
            f"noise suppression {self._suppressors()}, "
            f"noise floor {self._floor_db()}, "
            + (self._verifier.describe() if self._verifier is not None else "command check off")
            + ", longest command "
            f"{self.settings.max_utterance:g} s"
        )
