"""The PocketSphinx engine with the wheel's real English model, on real audio.

Speech comes from Flite's ``awb`` voice (built from a real talker's recordings, see
``tests/talker_voice.py``), from espeak-ng (the ``en-us+f3`` voice at 150 words a minute)
and from Debian's pocketsphinx-testdata (a real human recording). Accuracy over many
voices and noise is measured by ``scripts/bench_asr.py``, not here.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.espeak_voice import espeak
from tests.talker_voice import HAVE_FLITE, flite
from tests.television import active_rms, television
from voicecoach.asr import choose_engine, load_recognizer, rejection, wholefile
from voicecoach.asr.base import AsrSettings, Recognition, Recognizer
from voicecoach.asr.pocketsphinx import PocketSphinxRecognizer
from voicecoach.asr.rejection import SAFETY_THRESHOLD, least_coverage, loud_span
from voicecoach.asr.sphinx import jsgf
from voicecoach.asr.talk import TALK_HISTORY
from voicecoach.asr.verify import block_power
from voicecoach.audio.chunk import ASR_RATE, AudioChunk, resample
from voicecoach.cli.asr_cmd import recognize_in_parallel
from voicecoach.commands import SAFETY_INTENTS, Intent, match_intent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng"),
    pytest.mark.skipif(not HAVE_FLITE, reason="needs flite (scripts/install.sh --test)"),
]

GOFORWARD = Path("/usr/share/pocketsphinx/test/data/goforward.raw")  # "go forward ten meters"
WORDS = ("yes", "next", "it hurts", "stop", "where am i", "repeat")


@pytest.fixture(scope="module")
def speech() -> dict[str, np.ndarray]:
    return {w: flite(w) for w in WORDS}


@pytest.fixture(scope="module")
def rec() -> PocketSphinxRecognizer:
    return PocketSphinxRecognizer()


@pytest.fixture(scope="module")
def unchecked() -> PocketSphinxRecognizer:
    """Without the second model's check (tests/test_verify.py tests that), for tests of
    PocketSphinx's own rejection and endpointing."""
    return PocketSphinxRecognizer(settings=AsrSettings(verify=False))


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * ASR_RATE), dtype=np.float32)


def with_room(audio: np.ndarray, seed: int = 5) -> np.ndarray:
    """Quiet room noise (about -54 dBFS) over everything."""
    noise = np.random.default_rng(seed).normal(0, 0.002, len(audio)).astype(np.float32)
    return audio + noise


def stream(
    rec: Recognizer, audio: np.ndarray, block: int = 480, t0: float = 100.0
) -> list[Recognition]:
    out = []
    for i in range(0, len(audio), block):
        out += rec.accept(AudioChunk.from_float(audio[i : i + block], ASR_RATE, t0 + i / ASR_RATE))
    return out + rec.flush()


def test_is_a_recognizer(rec: PocketSphinxRecognizer) -> None:
    assert isinstance(rec, Recognizer)
    assert rec.name == "pocketsphinx"
    assert "pocketsphinx" in rec.describe() and "threshold" in rec.describe()


def test_grammar_is_generated_from_the_vocabulary(rec: PocketSphinxRecognizer) -> None:
    grammar = jsgf(rec.vocabulary)
    assert "it hurts" in grammar and "what can i say" in grammar
    assert grammar.count("|") == len(rec.vocabulary) - 1


@pytest.mark.parametrize("word", WORDS)
def test_whole_utterance(rec: PocketSphinxRecognizer, speech: dict, word: str) -> None:
    audio = with_room(np.concatenate([silence(0.4), speech[word], silence(0.4)]))
    r = rec.recognize_utterance(AudioChunk.from_float(audio, ASR_RATE))
    assert r.intent is Intent(rec.vocabulary[word])
    assert r.text == word
    assert 0.0 < r.confidence <= 1.0
    assert 0.2 < r.start < r.end < len(audio) / ASR_RATE


def click(before: float, after: float, seed: int) -> np.ndarray:
    """A loud 2.5 ms click (a button, a mouse) with silence before and after it."""
    out = silence(before + after)
    at = int(before * ASR_RATE)
    out[at : at + 40] = np.random.default_rng(seed).normal(0.0, 0.5, 40)
    return out


def breath(seed: int) -> np.ndarray:
    """0.4 s of noise swelling and fading at about -36 dBFS, as a breath in."""
    noise = np.random.default_rng(seed).normal(0.0, 0.03, int(0.4 * ASR_RATE))
    return (noise * np.hanning(len(noise))).astype(np.float32)


AROUND = {
    "click at the start": lambda words, k: [click(0.15, 0.8, k), words, silence(0.5)],
    "click after": lambda words, k: [silence(0.6), words, silence(0.3), click(0.3, 0.3, k)],
    "breath before": lambda words, k: [silence(0.3), breath(k), silence(1.2), words, silence(0.5)],
}


@pytest.mark.parametrize("around", AROUND)
def test_a_click_or_a_breath_around_the_command_does_not_hide_it(around: str) -> None:
    """Real recordings carry other sounds around the words: the click of the button
    that started the recording, a breath before speaking. A whole file is decided as a
    stream is, piece by piece. Before, a file the detector heard as two pieces of
    sound was taken for talk, and a click after the words kept the classifier's
    window from ending after them: none of these 14 files (2 talkers the classifier
    never heard x 7 commands) gave a command. Now 12-14 of each 14 do, as 12 do with
    nothing around the words. (A breath 0.8 s before the words still sways the
    classifier, in its two seconds: 11.)"""
    rec = PocketSphinxRecognizer()
    heard, wrong = [], []
    for voice in ("rms", "kal16"):
        for k, text in enumerate(
            ("next", "repeat", "it hurts", "stop", "skip", "yes", "where am i")
        ):
            audio = with_room(np.concatenate(AROUND[around](flite(text, voice), k)), seed=k)
            r = rec.recognize_utterance(AudioChunk.from_float(audio, ASR_RATE))
            if r.intent is Intent(rec.vocabulary[text]):
                heard.append((voice, text))
            elif r.intent is not None:
                wrong.append((voice, text, r))
    assert len(heard) >= 11, heard
    assert not wrong


def test_a_file_is_brought_into_the_level_range_it_was_tuned_for() -> None:
    t = np.arange(ASR_RATE) / ASR_RATE
    tone = np.sin(2 * np.pi * 440 * t) * np.minimum(1.0, 10 * t)  # 1 s, a short rise

    def file(db: float) -> AudioChunk:  # a tone whose RMS is db dBFS
        return AudioChunk.from_float((tone * 10 ** ((db + 3.01) / 20)).astype(np.float32), ASR_RATE)

    level = wholefile.file_level
    assert level(file(-50)) == pytest.approx(-50, abs=0.1)
    low, high = wholefile.LEVELS
    assert level(wholefile.at_file_level(file(-50))) == pytest.approx(low, abs=0.1)
    # Raised by MAX_GAIN at most: a faint room stays faint.
    assert level(wholefile.at_file_level(file(-70))) == pytest.approx(
        -70 + wholefile.MAX_GAIN, abs=0.1
    )
    assert level(wholefile.at_file_level(file(-5))) == pytest.approx(high, abs=0.1)
    within = file(-25)
    assert wholefile.at_file_level(within) is within
    silent = AudioChunk(bytes(3200), ASR_RATE)
    assert level(silent) is None
    assert wholefile.at_file_level(silent) is silent
    # A click 40 dB louder than the words does not set the level.
    words = (tone * 10 ** ((-50 + 3.01) / 20)).astype(np.float32)
    words[8000:8040] = 0.5
    clicked = AudioChunk.from_float(words, ASR_RATE)
    assert level(clicked) == pytest.approx(-50, abs=0.1)
    assert level(wholefile.at_file_level(clicked)) == pytest.approx(low, abs=0.1)


def test_a_quiet_recording_is_heard() -> None:
    """Flite commands (2 talkers the classifier never heard x 7) 40 dB under their usual
    level, about -46 dBFS at their peaks, over hiss at -80 dBFS: the file is raised
    into the level range the recognizer was tuned for. 11 are heard (4 before), one
    taken for another (rms's "next" read "yes")."""
    rec = PocketSphinxRecognizer()
    heard, wrong = [], []
    for voice in ("rms", "kal16"):
        for k, text in enumerate(
            ("next", "repeat", "it hurts", "stop", "skip", "yes", "where am i")
        ):
            audio = np.concatenate([silence(0.5), flite(text, voice), silence(0.5)]) * 0.01
            audio += np.random.default_rng(k).normal(0.0, 1e-4, len(audio)).astype(np.float32)
            r = rec.recognize_utterance(AudioChunk.from_float(audio, ASR_RATE))
            if r.intent is Intent(rec.vocabulary[text]):
                heard.append((voice, text))
            elif r.intent is not None:
                wrong.append((voice, text, r.intent))
    assert len(heard) >= 9, heard
    assert len(wrong) <= 1, wrong
    assert not [w for w in wrong if w[1] in ("it hurts", "stop")]


def test_a_file_cut_at_the_last_sound_is_heard_to_its_end() -> None:
    """A recording cut right at the words' last sound (as short clips often are) is
    heard with the quiet a stream has after its talker stops (``FILE_TAIL``), where
    its background is quiet. Before, the decoder and the classifier stopped at the
    last sample: espeak-ng's "next" and "help", whose final stops were cut, were not
    heard (24 of these 30 were; now 30)."""
    rec = PocketSphinxRecognizer()
    heard, wrong = [], []
    texts = (
        "next",
        "repeat",
        "it hurts",
        "stop",
        "skip",
        "yes",
        "where am i",
        "pause",
        "go back",
        "help",
    )
    for voice in ("en-us+f3", "en-gb+m3", "en-us+m7"):
        for k, text in enumerate(texts):
            words = np.asarray(espeak(text, voice))
            loud = np.flatnonzero(np.abs(words) > 0.02 * np.max(np.abs(words)))
            audio = np.concatenate([silence(0.5), words[: loud[-1] + 1]])
            audio += np.random.default_rng(k).normal(0.0, 1e-4, len(audio)).astype(np.float32)
            r = rec.recognize_utterance(AudioChunk.from_float(audio, ASR_RATE))
            if r.intent is Intent(rec.vocabulary[text]):
                heard.append((voice, text))
            elif r.intent is not None:
                wrong.append((voice, text, r))
            assert r.end <= len(audio) / ASR_RATE + 1e-6
    assert len(heard) >= 27, heard
    assert not wrong


def test_only_a_quiet_background_counts_as_quiet() -> None:
    t = np.arange(ASR_RATE) / ASR_RATE
    words = (0.1 * np.sin(2 * np.pi * 300 * t) * (t > 0.5)).astype(np.float32)
    hiss = np.random.default_rng(1).normal(0.0, 1.0, len(t)).astype(np.float32)
    assert wholefile.is_quiet_between(AudioChunk.from_float(words + 1e-4 * hiss, ASR_RATE))
    assert not wholefile.is_quiet_between(AudioChunk.from_float(words + 0.01 * hiss, ASR_RATE))


def test_two_different_commands_in_one_file_are_none(
    rec: PocketSphinxRecognizer, speech: dict
) -> None:
    """A file is one utterance: two commands that disagree give none, the words of both."""
    audio = with_room(
        np.concatenate([silence(0.3), speech["next"], silence(0.8), speech["stop"], silence(0.4)])
    )
    r = rec.recognize_utterance(AudioChunk.from_float(audio, ASR_RATE))
    assert r.intent is None
    assert r.text == "next stop"
    same = with_room(
        np.concatenate([silence(0.3), speech["next"], silence(0.8), speech["next"], silence(0.4)])
    )
    assert rec.recognize_utterance(AudioChunk.from_float(same, ASR_RATE)).intent is Intent.NEXT


@pytest.mark.parametrize("frames", [0, 7])
def test_a_file_that_ends_in_speech_keeps_its_end(
    rec: PocketSphinxRecognizer, speech: dict, frames: int
) -> None:
    """The endpointer holds back its last window of speech until a silence comes; a
    file that stops while the talker still talks is decoded to its end anyway (with
    no samples past a whole frame, the span once ended at 0 s and lost that window)."""
    word = trim(speech["it hurts"])
    fb = 480  # the endpointer's 30 ms frame
    audio = np.concatenate([silence(0.6), word])
    audio = with_room(audio[: len(audio) - len(audio) % fb + frames])
    r = rec.recognize_utterance(AudioChunk.from_float(audio, ASR_RATE))
    assert r.intent is Intent.HURT
    assert r.end == pytest.approx(len(audio) / ASR_RATE, abs=0.001)
    assert 0.3 < r.start < r.end


@pytest.mark.parametrize(
    "said, voice, forced",
    [
        ("yeast", "awb", "repeat"),
        ("left", "slt", "next"),
        ("precious", "slt", "yes"),
        ("the bus stop is around the corner", "awb", "what can i say"),
    ],
)
def test_the_phone_loop_check_rejects_what_the_grammar_forced(
    unchecked: PocketSphinxRecognizer,
    monkeypatch: pytest.MonkeyPatch,
    said: str,
    voice: str,
    forced: str,
) -> None:
    """Not commands, which the closed grammar reads as one with enough coverage; a free
    sequence of phones fits the same audio far better, so the command is rejected."""
    rec = unchecked
    audio = with_room(np.concatenate([silence(0.4), flite(said, voice), silence(0.4)]))
    chunk = AudioChunk.from_float(audio, ASR_RATE)
    r = rec.recognize_utterance(chunk)
    assert (r.text, r.intent) == (forced, None)
    assert [r.intent for r in stream(rec, audio)] == [None]
    # Without the check, each would be acted on.
    monkeypatch.setattr(rejection, "PHONE_MARGIN", -math.inf)
    monkeypatch.setattr(rejection, "SAFETY_PHONE_MARGIN", -math.inf)
    assert rec.recognize_utterance(chunk).intent is Intent(rec.vocabulary[forced])


def test_it_hurts_begun_over_the_residue_of_a_count_word_is_heard() -> None:
    """The demo's hold count: the user's "it hurts" starts while what the echo canceller
    leaves of the coach's "Five." still sounds, and the two make one utterance. At
    PocketSphinx's default beams the grammar search dropped every path that would have
    ended in a whole command and gave no hypothesis at all (``sphinx.BEAM``)."""
    rec = PocketSphinxRecognizer(settings=AsrSettings())
    rec.set_early_end(SAFETY_INTENTS)  # as while the coach is heard
    user = 0.7 * espeak("it hurts")  # peak 0.35, the demo's user
    residue = 0.12 * espeak("five", 160, "en-gb+m3")  # about 24 dB under its level
    # First the words alone, as a stream has heard speech before (the decoder's
    # cepstral mean adapts to it; a recognizer that has heard nothing yet decides
    # differently).
    alone = np.concatenate([silence(0.5), user, silence(1.0)])
    assert [r.intent for r in stream(rec, with_room(alone)) if not r.partial] == [Intent.HURT]
    heard = []
    for seed in range(5):  # the room's noise, drawn anew
        audio = np.random.default_rng(seed).normal(0, 0.002, int(3.5 * ASR_RATE))
        audio = audio.astype(np.float32)
        at = ASR_RATE
        audio[at : at + len(residue)] += residue
        at += int(0.3 * ASR_RATE)
        audio[at : at + len(user)] += user
        rec.reset()
        heard.append([r.intent for r in stream(rec, audio, block=320) if not r.partial])
    # Most, not all: the outcome of each depends on what the decoder adapted to before
    # (with the default beams none was heard, here or after other warm-ups).
    assert heard.count([Intent.HURT]) >= 3, heard


def test_safety_commands_keep_their_own_threshold(speech: dict) -> None:
    """A threshold no command reaches still lets "it hurts" and "stop" through at the
    safety commands' own (a missed pain report costs more than a false one)."""
    rec = PocketSphinxRecognizer(settings=AsrSettings(threshold=0.99, verify=False))
    heard = {}
    for word in ("it hurts", "pause", "next", "yes"):
        said = speech[word] if word in speech else espeak(word)
        audio = with_room(np.concatenate([silence(0.4), said, silence(0.4)]))
        r = rec.recognize_utterance(AudioChunk.from_float(audio, ASR_RATE))
        # The word heard, at a coverage between the safety commands' threshold and 0.99.
        assert r.text == word and SAFETY_THRESHOLD <= r.confidence < 0.99
        heard[word] = r.intent
    assert heard == {"it hurts": Intent.HURT, "pause": Intent.PAUSE, "next": None, "yes": None}


def test_phrases_the_grammar_falls_back_on_need_more_coverage() -> None:
    assert least_coverage("next", Intent.NEXT, 0.5) == 0.5
    assert least_coverage("done", Intent.NEXT, 0.5) == pytest.approx(0.8)
    assert least_coverage("go on", Intent.RESUME, 0.5) == pytest.approx(0.7)
    assert least_coverage("done", None, 0.6) == pytest.approx(0.9)
    # The safety commands keep theirs, whatever the threshold.
    assert least_coverage("it hurts", Intent.HURT, 0.5) == SAFETY_THRESHOLD
    assert least_coverage("ouch", Intent.HURT, 0.99) == SAFETY_THRESHOLD
    assert least_coverage("stop", Intent.STOP, 0.3) == 0.3


def test_results_do_not_depend_on_earlier_files(rec: PocketSphinxRecognizer, speech: dict) -> None:
    chunk = AudioChunk.from_float(with_room(np.concatenate([silence(0.3), speech["stop"]])), 16000)
    first = rec.recognize_utterance(chunk)
    score = rec._decoder.hyp().best_score  # finer than the result: PocketSphinx's own
    rng = np.random.default_rng(2)
    for word in WORDS:  # noisy files, which PocketSphinx's own noise removal learns from
        noisy = np.concatenate([silence(0.5), speech[word]])
        noisy = noisy + rng.normal(0, 0.05, len(noisy)).astype(np.float32)
        rec.recognize_utterance(AudioChunk.from_float(noisy, ASR_RATE))
    assert rec.recognize_utterance(chunk) == first
    assert rec._decoder.hyp().best_score == score


def test_silence_and_room_noise_are_not_commands(rec: PocketSphinxRecognizer) -> None:
    for audio in (silence(2.0), with_room(silence(2.0))):
        r = rec.recognize_utterance(AudioChunk.from_float(audio, ASR_RATE))
        assert r.intent is None
    assert stream(rec, with_room(silence(3.0))) == []


def test_a_real_human_sentence_is_not_a_command(rec: PocketSphinxRecognizer) -> None:
    if not GOFORWARD.is_file():
        pytest.skip("needs Debian's pocketsphinx-testdata")
    pcm = GOFORWARD.read_bytes()
    r = rec.recognize_utterance(AudioChunk(pcm, ASR_RATE, 2, 1))
    assert r.intent is None
    # The same audio streamed: whatever is found, no command comes out of it.
    audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768
    assert [x.intent for x in stream(rec, audio) if x.intent is not None] == []


def test_commands_over_a_television_are_heard(speech: dict) -> None:
    """A television talks on 20 dB below the user: the detector calls it all speech, so
    without the talk gate utterances run on past the longest command and the commands
    are lost. Once it has talked on for TALK_HISTORY seconds the gate acts: the
    commands are heard, and the television's talk alone gives none."""
    # How often commands are heard over talk is measured by scripts/bench_background.py
    # (about 90 % at 20 dB below); of this voice's six test words, "yes" and "next"
    # here are read right but fail the phone-loop check.
    words = ("stop", "repeat", "it hurts", "where am i")
    lead = TALK_HISTORY + 5.0  # the television alone, the last 5 s with the gate acting
    parts = [silence(lead)]
    for word in words:
        parts += [speech[word], silence(2.0)]
    user = np.concatenate(parts)
    level = active_rms(np.concatenate([speech[w] for w in words]))
    audio = with_room(user + television(len(user) / ASR_RATE) * level * 10 ** (-20 / 20))
    t0 = 100.0  # stream()'s clock
    # What comes before the gate acts is heard as it is without one.
    results = [r for r in stream(PocketSphinxRecognizer(), audio) if r.end > t0 + TALK_HISTORY]
    acted = [r for r in results if r.intent is not None]
    assert [r.intent for r in acted] == [Intent.STOP, Intent.REPEAT, Intent.HURT, Intent.WHERE]
    assert min(r.end for r in acted) > t0 + lead
    # Without the gate, utterances run on with the television's talk: at most one of the
    # four commands comes out of PocketSphinx. (The second model, left out here, finds
    # two of them in the short spans that are left.)
    ungated = stream(
        PocketSphinxRecognizer(settings=AsrSettings(talk_gate=False, verify=False)), audio
    )
    late = {r.intent for r in ungated if r.intent is not None and r.end > t0 + lead}
    assert len(late) <= 1


def over_talk(words: str, below: float) -> tuple[np.ndarray, int, int]:
    """A Flite talker's ``words`` with 0.6 s of a television's talk ``below`` dB under
    them before and after (no quiet around them: the talk gate has not heard enough to
    act), then 1.5 s of a quiet room; and where the words start and end (samples)."""
    said = flite(words, "slt")
    user = np.concatenate([silence(0.6), said, silence(0.6)])
    talk = television(10.0)[7 * ASR_RATE : 7 * ASR_RATE + len(user)]
    mixed = user + talk * active_rms(said) * 10 ** (-below / 20)
    loud = np.flatnonzero(np.abs(said) > 0.01)
    first = int(0.6 * ASR_RATE) + int(loud[0])
    return (
        np.concatenate([with_room(mixed), with_room(silence(1.5))]),
        first,
        first + int(loud[-1] - loud[0]),
    )


def pcm16(audio: np.ndarray) -> np.ndarray:
    return np.round(audio * 32767).astype(np.int16)


def test_the_loud_stretch_is_found_only_over_quieter_sound(speech: dict) -> None:
    """:func:`loud_span`: the words with talk 15 dB under them all round are found
    (padded); the same words in near digital silence and the talk on its own have no
    stretch to cut out; of a real talker's sentence in a quiet room, only the room around
    it is cut: its words are at one level."""
    audio, first, last = over_talk("it hurts", 15)
    span = loud_span(pcm16(audio[: last + int(0.6 * ASR_RATE)]))
    assert span is not None
    assert first - int(0.3 * ASR_RATE) <= span[0] <= first
    assert last <= span[1] <= last + int(0.3 * ASR_RATE)
    alone = np.concatenate([silence(0.6), speech["it hurts"], silence(0.6)])
    assert loud_span(pcm16(alone)) is None
    assert loud_span(pcm16(television(3.0) * 0.05)) is None
    if GOFORWARD.is_file():
        sentence = np.frombuffer(GOFORWARD.read_bytes(), dtype="<i2")
        level = 10 * np.log10(block_power(sentence, 320) + 1)  # 20 ms frames
        words = np.flatnonzero(level >= level.max() - 20) * 320
        span = loud_span(sentence)
        assert span is not None and span[0] <= words[0] and span[1] >= words[-1] + 320


@pytest.mark.parametrize("words", ["where am i", "pause", "ouch"])
def test_a_command_over_quieter_talk_is_heard_at_a_second_look(
    words: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Talk 15 dB under the words, before and after them, makes one utterance of it all,
    and the grammar reads other words into the talk: the utterance is not a command. Its
    loud stretch, decoded again alone, is: streamed and as a whole file. (Without the
    second look, none of the three either way.)"""
    audio, _, _ = over_talk(words, 15)
    intent = match_intent(words)
    rec = PocketSphinxRecognizer()
    assert [r.intent for r in stream(rec, audio) if r.intent is not None] == [intent]
    whole = rec.recognize_utterance(AudioChunk.from_float(audio, ASR_RATE))
    assert whole.intent is intent
    monkeypatch.setattr(rec, "_look_again", lambda *args: None)
    assert intent not in {r.intent for r in stream(rec, audio)}
    assert rec.recognize_utterance(AudioChunk.from_float(audio, ASR_RATE)).intent is None


def test_no_second_look_while_the_coach_is_heard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Over the coach (only the safety commands end early) the loud stretch is not
    decoded again, where the canceller's leftover echo would be cut into commands: what
    is heard is what is heard without the second look."""
    audio, _, _ = over_talk("where am i", 15)  # heard at a second look (above)
    results = []
    for second_look in (True, False):
        rec = PocketSphinxRecognizer()
        if not second_look:
            monkeypatch.setattr(rec, "_look_again", lambda *args: None)
        rec.set_early_end(SAFETY_INTENTS)
        results.append([(r.intent, r.text, r.start, r.end) for r in stream(rec, audio)])
    assert results[0] == results[1]
    assert Intent.WHERE not in {r[0] for r in results[0]}


def test_streaming_finds_each_command_with_its_times(
    rec: PocketSphinxRecognizer, speech: dict
) -> None:
    parts = [silence(0.8)]
    for word in ("yes", "next", "it hurts"):
        parts += [speech[word], silence(1.0)]
    audio = with_room(np.concatenate(parts))
    results = stream(rec, audio, block=1600, t0=100.0)
    assert [r.intent for r in results] == [Intent.YES, Intent.NEXT, Intent.HURT]
    # Times are on the chunks' clock; the first word starts after 0.8 s of silence.
    assert 100.6 < results[0].start < 101.1
    for a, b in zip(results, results[1:], strict=False):
        assert a.end < b.start
    assert results[-1].end < 100.0 + len(audio) / ASR_RATE


@pytest.mark.parametrize("block", [160, 480, 4000])
def test_block_size_does_not_change_the_result(
    rec: PocketSphinxRecognizer, speech: dict, block: int
) -> None:
    audio = with_room(np.concatenate([silence(0.5), speech["where am i"], silence(0.8)]))
    results = stream(rec, audio, block=block)
    assert [r.intent for r in results] == [Intent.WHERE]


def test_set_active_leaves_other_commands_unacted(
    rec: PocketSphinxRecognizer, speech: dict
) -> None:
    audio = with_room(np.concatenate([silence(0.5), speech["stop"], silence(0.8)]))
    rec.set_active(frozenset({Intent.YES, Intent.NO}))
    try:
        results = stream(rec, audio)
        # Heard as what it is, not forced onto yes or no, and not acted on.
        assert [(r.intent, r.text) for r in results] == [(None, "stop")]
    finally:
        rec.set_active(None)
    assert [r.intent for r in stream(rec, audio)] == [Intent.STOP]


def test_long_speech_is_cut_and_not_a_command(speech: dict) -> None:
    # The early end of every command off: it ends "where am i" at the short pause
    # before "it hurts", judging the talk in pieces (see the PocketSphinx module).
    settings = AsrSettings(max_utterance=1.0, phrase_silence=None)
    rec = PocketSphinxRecognizer(settings=settings)
    # Three words with no pause between them: one span of speech over a second long.
    # (With espeak-ng's trailing silence, each would be a whole command of its own.)
    talk = np.concatenate([trim(speech[w]) for w in ("where am i", "it hurts", "repeat")])
    results = stream(rec, with_room(np.concatenate([silence(0.5), talk, silence(1.0)])))
    assert results and all(r.intent is None for r in results)
    assert rec.recognize_utterance(AudioChunk.from_float(talk, ASR_RATE)).intent is None


def test_reset_drops_the_utterance_in_progress(rec: PocketSphinxRecognizer, speech: dict) -> None:
    audio = with_room(np.concatenate([silence(0.5), speech["stop"]]))
    half = len(audio) - len(speech["stop"]) // 2
    rec.accept(AudioChunk.from_float(audio[:half], ASR_RATE, 0.0))
    rec.reset()
    got = rec.accept(AudioChunk.from_float(with_room(silence(1.5)), ASR_RATE, 5.0))
    assert got == [] and rec.flush() == []


def test_flush_finishes_an_utterance(rec: PocketSphinxRecognizer, speech: dict) -> None:
    audio = with_room(np.concatenate([silence(0.5), trim(speech["yes"])]))
    first = rec.accept(AudioChunk.from_float(audio, ASR_RATE, 0.0))
    assert first == []  # still in speech: no end seen yet
    assert [r.intent for r in rec.flush()] == [Intent.YES]


def test_wrong_format_is_refused(rec: PocketSphinxRecognizer) -> None:
    with pytest.raises(ValueError, match="to_mono16k"):
        rec.accept(AudioChunk(bytes(9600), 48_000, 2, 1))


def test_unknown_words_are_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    rec = PocketSphinxRecognizer({"yes": Intent.YES, "zorblaxx": Intent.NO})
    assert rec.vocabulary == {"yes": Intent.YES}
    assert "zorblaxx" in caplog.text


def test_auto_chooses_pocketsphinx_without_a_vosk_model(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("VOICECOACH_VOSK_MODEL", raising=False)
    monkeypatch.setattr("voicecoach.asr.vosk.model_search_path", lambda: [tmp_path / "none"])
    assert choose_engine(AsrSettings()) == "pocketsphinx"
    assert load_recognizer(AsrSettings(engine="pocketsphinx")).name == "pocketsphinx"


# ----------------------------------------------------------- voicecoach recognize


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "voicecoach", "recognize", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_recognize_cli_any_format_and_bad_files(tmp_path: Path, speech: dict) -> None:
    stereo44 = tmp_path / "stop-44k-stereo.wav"
    audio = resample(np.concatenate([silence(0.4), speech["stop"], silence(0.4)]), 16000, 44100)
    sf.write(stereo44, np.stack([audio, 0.8 * audio], axis=1), 44100)
    mono8 = tmp_path / "yes-8k.flac"
    sf.write(mono8, resample(np.concatenate([silence(0.4), speech["yes"]]), 16000, 8000), 8000)
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really")
    missing = tmp_path / "missing.wav"
    folder = tmp_path / "takes.wav"
    folder.mkdir()
    empty = tmp_path / "empty.wav"
    empty.touch()
    # Headerless, as PocketSphinx's own test recordings: 16 kHz mono 16-bit.
    raw = tmp_path / "it-hurts.raw"
    clip = np.concatenate([silence(0.4), speech["it hurts"], silence(0.4)])
    raw.write_bytes((np.clip(clip, -1, 1) * 32767).astype("<i2").tobytes())
    odd = tmp_path / "odd.raw"
    odd.write_bytes(raw.read_bytes()[:-1])
    # --threshold 0.4: espeak-ng's "yes" cut to 8 kHz covers only 0.43 of its frames,
    # under the default; this test is about formats, not about rejection.
    proc = run_cli(
        "--engine",
        "pocketsphinx",
        "--threshold",
        "0.4",
        "--json",
        str(broken),
        str(stereo44),
        str(missing),
        str(mono8),
        str(odd),
        str(raw),
        str(folder),
        str(empty),
    )
    assert proc.returncode == 1, proc.stderr
    lines = [json.loads(x) for x in proc.stdout.splitlines()]
    files = [broken, stereo44, missing, mono8, odd, raw, folder, empty]
    assert [x["file"] for x in lines] == [str(f) for f in files]
    assert "error" in lines[0] and "odd number" in lines[4]["error"]
    # libsndfile's own words were "System error." and "Format not recognised."
    assert lines[2]["error"] == "cannot read: no such file"
    assert lines[6]["error"] == "cannot read: it is a folder, not an audio file"
    assert lines[7]["error"] == "cannot read: the file is empty (0 bytes)"
    assert lines[5]["command"] == "hurt"
    assert lines[1]["command"] == "stop" and lines[1]["text"] == "stop"
    assert lines[3]["command"] == "yes"
    assert set(lines[1]) == {"file", "command", "text", "confidence"}
    assert "pocketsphinx" in proc.stderr

    plain = run_cli("--engine", "pocketsphinx", str(stereo44))
    assert plain.returncode == 0
    assert plain.stdout.split("\t")[:2] == [str(stereo44), "stop"]


def test_recognize_cli_in_several_processes_gives_the_same_lines_in_order(
    tmp_path: Path, speech: dict
) -> None:
    files = []
    for k, word in enumerate(["stop", "yes", "it hurts", "next", "repeat", "where am i"]):
        path = tmp_path / f"{k}.wav"
        sf.write(path, np.concatenate([silence(0.4), speech[word], silence(0.4)]), ASR_RATE)
        files.append(str(path))
    broken = tmp_path / "broken.wav"
    broken.write_bytes(b"RIFF not really")
    files.insert(3, str(broken))
    one = run_cli("--engine", "pocketsphinx", "--json", *files)
    two = run_cli("--engine", "pocketsphinx", "--json", "--jobs", "2", *files)
    assert one.returncode == two.returncode == 1, two.stderr
    assert two.stdout == one.stdout  # the same lines, in the files' order
    lines = [json.loads(x) for x in two.stdout.splitlines()]
    assert [x["file"] for x in lines] == files
    assert "error" in lines[3]
    assert run_cli("--jobs", "-1", files[0]).returncode == 2
    # The processes themselves (the CLI would pass the check above in one process too).
    out = io.StringIO()
    settings = AsrSettings(engine="pocketsphinx")
    assert recognize_in_parallel(settings, [Path(f) for f in files], True, out, 2) == 1
    assert out.getvalue() == one.stdout


# ------------------------------------------------- endpointing: short and long silence


def trim(audio: np.ndarray) -> np.ndarray:
    """espeak-ng's audio without its trailing silence (about 0.4 s)."""
    loud = np.flatnonzero(np.abs(audio) > 0.02)
    return audio[: loud[-1] + int(0.02 * ASR_RATE)]


@pytest.mark.parametrize("word", ["stop", "ouch", "wait", "pause"])
def test_a_short_quick_word_starts_an_utterance(rec: PocketSphinxRecognizer, word: str) -> None:
    """Said quickly (espeak-ng at 350 words a minute), these words are under 10 frames of
    speech: PocketSphinx's own endpointer, which starts only when all 10 frames of its
    window are speech, heard nothing at all.

    The utterance is what this tests, so the words the decoder read, not the verdict:
    all four are rejected since the phone-loop check came in (espeak-ng at that pace
    fits the model poorly), and Flite's talkers, even at 2.5 times their pace, are over
    10 frames."""
    audio = with_room(np.concatenate([silence(0.5), trim(espeak(word, speed=350)), silence(1.0)]))
    assert [r.text for r in stream(rec, audio)] == [word]
    assert rec.recognize_utterance(AudioChunk.from_float(audio, ASR_RATE)).text == word


def results_at(
    rec: Recognizer, audio: np.ndarray, provisional: bool = False
) -> list[tuple[Recognition, float]]:
    """Stream ``audio`` as the microphone does (20 ms chunks from time 0); each final
    result (and provisional one, if asked) with the stream time of the end of the chunk
    it came out with."""
    out = []
    block = int(0.02 * ASR_RATE)
    for i in range(0, len(audio), block):
        chunk = AudioChunk.from_float(audio[i : i + block], ASR_RATE, i / ASR_RATE)
        out += [(r, chunk.end) for r in rec.accept(chunk)]
    out += [(r, len(audio) / ASR_RATE) for r in rec.flush()]
    return [(r, at) for r, at in out if provisional or not r.provisional]


@pytest.mark.parametrize("words", ["it hurts", "stop", "pause"])
def test_a_safety_command_is_read_provisionally_before_its_final_result(words: str) -> None:
    """While only the safety commands may end early (the coach is heard), the decoder's
    partial result reading a whole safety command comes out at once, unchecked, as a
    provisional result, once per utterance; the final result follows, the same as
    without it, a good deal later."""
    audio = with_room(np.concatenate([silence(0.5), trim(espeak(words)), silence(1.0)]))
    words_end = 0.5 + len(trim(espeak(words))) / ASR_RATE
    rec = PocketSphinxRecognizer()
    rec.set_early_end(SAFETY_INTENTS)
    [(p, p_at), (r, at)] = results_at(rec, audio, provisional=True)
    assert p.partial and p.provisional and not r.provisional
    assert (p.intent, p.text) == (r.intent, r.text) == (match_intent(words), words)
    assert p.start == pytest.approx(r.start)
    # Here the final result came 0.12-0.42 s after the provisional one (0.12 s for "it
    # hurts" since the grammar search's wider beams, sphinx.BEAM; 0.26 s before).
    assert p_at <= words_end + 0.1 and at - p_at >= 0.1
    # Not while every command may end early (the coach is quiet, nothing to silence).
    [(r_all, _)] = results_at(PocketSphinxRecognizer(), audio, provisional=True)
    assert (r_all.intent, r_all.text) == (r.intent, r.text)


def test_no_provisional_result_for_other_commands(speech: dict) -> None:
    """A command other than a safety one gives no provisional result (one in seven does
    on the evaluation set; talk about half the time: see ``_provisional``), though it is
    heard: its final result is the command."""
    rec = PocketSphinxRecognizer()
    rec.set_early_end(SAFETY_INTENTS)
    for words, audio in (("next", speech["next"]), ("repeat", espeak("repeat")),
                         ("go back", espeak("go back"))):  # fmt: skip
        padded = with_room(np.concatenate([silence(0.5), trim(audio), silence(1.0)]))
        results = [r for r, _ in results_at(rec, padded, provisional=True)]
        assert not [r for r in results if r.provisional]
        assert [(r.intent, r.text) for r in results] == [(match_intent(words), words)]


@pytest.fixture(scope="module")
def go_words() -> dict[str, np.ndarray]:
    return {w: espeak(w) for w in ("go", "back", "go back")}


def test_a_whole_command_ends_after_the_short_silence(speech: dict) -> None:
    audio = with_room(np.concatenate([silence(0.5), trim(speech["next"]), silence(1.0)]))
    quick = PocketSphinxRecognizer(settings=AsrSettings(vad_silence=0.3, phrase_silence=0.15))
    # Off, but for the safety commands (next test).
    slow = PocketSphinxRecognizer(settings=AsrSettings(vad_silence=0.3, phrase_silence=None))
    [(r, at)] = results_at(quick, audio)
    [(r_slow, at_slow)] = results_at(slow, audio)
    assert (r.intent, r.text) == (r_slow.intent, r_slow.text) == (Intent.NEXT, "next")
    assert r.start == pytest.approx(r_slow.start) and r.end == pytest.approx(r_slow.end)
    # The end is where the detector heard the speech end (its hangover and one silent
    # frame after the word); the result comes within the short silence, measured on
    # the decoder's alignment, instead of after the long one.
    assert r.end < 0.5 + len(trim(speech["next"])) / ASR_RATE + 0.3
    assert at - r.end <= 0.15
    assert at_slow - r_slow.end >= 0.25


def test_the_early_end_can_be_kept_to_some_intents(speech: dict) -> None:
    """While the coach speaks the live loop lets only the safety commands end early: a
    "next" then waits for the long silence (same verdict), an "it hurts" does not."""
    settings = AsrSettings(vad_silence=0.3, phrase_silence=0.15, safety_silence=0.15)
    for words, intent, early in (("next", Intent.NEXT, False), ("it hurts", Intent.HURT, True)):
        audio = with_room(np.concatenate([silence(0.5), trim(speech[words]), silence(1.0)]))
        rec = PocketSphinxRecognizer(settings=settings)
        rec.set_early_end(SAFETY_INTENTS)
        [(r, at)] = results_at(rec, audio)
        [(r_all, at_all)] = results_at(PocketSphinxRecognizer(settings=settings), audio)
        assert (r.intent, r.text) == (r_all.intent, r_all.text) == (intent, words)
        assert r.end == pytest.approx(r_all.end)
        assert at_all - r_all.end <= 0.2
        assert (at == at_all) if early else (at - r.end >= 0.25)


def test_while_only_the_safety_commands_may_end_early_their_silence_is_their_own(
    speech: dict,
) -> None:
    """Over the coach (only the safety commands may end early) the wait is
    ``safety_silence``; while the coach waits for the user, ``phrase_silence`` for
    every command, safety commands included. Same verdict either way."""
    settings = AsrSettings(vad_silence=0.3, phrase_silence=0.28, safety_silence=0.05)
    audio = with_room(np.concatenate([silence(0.5), trim(speech["it hurts"]), silence(1.0)]))
    over_coach = PocketSphinxRecognizer(settings=settings)
    over_coach.set_early_end(SAFETY_INTENTS)
    [(r, at)] = results_at(over_coach, audio)
    [(r_all, at_all)] = results_at(PocketSphinxRecognizer(settings=settings), audio)
    assert (r.intent, r.text) == (r_all.intent, r_all.text) == (Intent.HURT, "it hurts")
    assert r.end == pytest.approx(r_all.end)
    assert at <= at_all - 0.09


@pytest.mark.parametrize("words", ["it hurts", "pause"])
def test_a_safety_command_ends_early_by_default(words: str) -> None:
    """A pain report or a "pause" ends after the short silence with the default settings,
    also while the coach speaks (the live loop then lets only the safety commands end
    early), with the verdict and the times the long silence would give. (This espeak-ng
    "stop" gains only 0.06 s: the decoder stretches its last sound over the detector's
    hangover, so it finds no silence after it to count.)"""
    audio = with_room(np.concatenate([silence(0.5), trim(espeak(words)), silence(1.0)]))
    rec = PocketSphinxRecognizer()
    rec.set_early_end(SAFETY_INTENTS)
    [(r, at)] = results_at(rec, audio)
    [(r_off, at_off)] = results_at(
        PocketSphinxRecognizer(settings=AsrSettings(phrase_silence=None, safety_silence=None)),
        audio,
    )
    assert (r.intent, r.text) == (r_off.intent, r_off.text)
    assert r.intent in (Intent.HURT, Intent.PAUSE) and r.text == words
    assert r.start == pytest.approx(r_off.start) and r.end == pytest.approx(r_off.end)
    assert at - r.end <= 0.2
    assert at_off - r_off.end >= 0.25


@pytest.mark.parametrize(("first", "rest"), [("next", "one"), ("that", "hurts")])
def test_a_pause_inside_a_command_does_not_cut_it(first: str, rest: str) -> None:
    """0.3 s between the words: the utterance may be ended for a verdict in the pause
    ("next" is a whole command; "that" is the start of "that hurts"), but speech
    resumes and it is decoded again, whole: the same command, at the same end, as with
    the early end off. Then it ends early after all."""
    words = [silence(0.5), trim(espeak(first)), silence(0.3), trim(espeak(rest))]
    audio = with_room(np.concatenate([*words, silence(1.0)]))
    # Without the second model's check, whose window ends where each verdict comes.
    [(r, at)] = results_at(PocketSphinxRecognizer(settings=AsrSettings(verify=False)), audio)
    [(r_off, at_off)] = results_at(
        PocketSphinxRecognizer(
            settings=AsrSettings(phrase_silence=None, safety_silence=None, verify=False)
        ),
        audio,
    )
    assert (r.intent, r.text) == (r_off.intent, r_off.text)
    assert r.end == pytest.approx(r_off.end)
    assert r.text == f"{first} {rest}"
    assert at - r.end <= 0.2 < at_off - r_off.end


def test_go_is_not_cut_before_back(go_words: dict) -> None:
    rec = PocketSphinxRecognizer(settings=AsrSettings(phrase_silence=0.15))
    audio = with_room(np.concatenate([silence(0.5), trim(go_words["go back"]), silence(1.0)]))
    assert [(r.intent, r.text) for r, _ in results_at(rec, audio)] == [(Intent.PREVIOUS, "go back")]
    # A pause after "go" long enough for an early end: "go" is no whole command, so the
    # utterance carries on and is still one, "go back".
    paused = [silence(0.5), trim(go_words["go"]), silence(0.3), trim(go_words["back"])]
    audio = with_room(np.concatenate([*paused, silence(1.0)]))
    assert [(r.intent, r.text) for r, _ in results_at(rec, audio)] == [(Intent.PREVIOUS, "go back")]


def test_a_phrase_the_grammar_falls_back_on_needs_more_coverage(go_words: dict) -> None:
    """This "go" covers more of its frames than the 0.5 other commands need, less than
    the 0.6 "go" needs: heard, not acted on by PocketSphinx's own checks (the second
    model, which confirms it, is left out: see test_verify.py)."""
    audio = with_room(np.concatenate([silence(0.5), trim(go_words["go"]), silence(1.0)]))
    unchecked = AsrSettings(verify=False)
    for r in (
        PocketSphinxRecognizer(settings=unchecked).recognize_utterance(
            AudioChunk.from_float(audio, ASR_RATE)
        ),
        *stream(PocketSphinxRecognizer(settings=unchecked), audio),
    ):
        assert r.text == "go" and 0.5 <= r.confidence < 0.6
        assert r.intent is None


def test_go_alone_waits_for_the_long_silence(go_words: dict) -> None:
    # Threshold 0.4: this espeak-ng "go" covers 0.53 of its frames, under the 0.6 "go"
    # needs by default (PHRASE_RAISE); this test is about when it ends, not rejection.
    settings = AsrSettings(vad_silence=0.3, phrase_silence=0.15, threshold=0.4)
    rec = PocketSphinxRecognizer(settings=settings)
    audio = with_room(np.concatenate([silence(0.5), trim(go_words["go"]), silence(1.0)]))
    [(r, at)] = results_at(rec, audio)
    assert (r.intent, r.text) == (Intent.RESUME, "go")
    assert at - r.end >= 0.25
