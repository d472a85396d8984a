"""The Piper voice with the real joe model: sentence streaming, plausible audio, bad files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from voicecoach.audio.sinks import MemorySink, VirtualClock
from voicecoach.errors import ModelError
from voicecoach.tts.base import Voice, VoiceSettings
from voicecoach.tts.cache import PromptCache
from voicecoach.tts.piper import PiperVoice, default_voice_path
from voicecoach.tts.render import render_sentences
from voicecoach.tts.speaker import Speaker

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def joe() -> PiperVoice:
    voice = PiperVoice()
    voice.load()
    return voice


def rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


def test_default_voice_is_the_joe_package() -> None:
    path = default_voice_path()
    assert path.name == "en_US-joe-medium.onnx" and path.is_file()
    assert Path(f"{path}.json").is_file()


def test_one_short_sentence_is_plausible_speech(joe: PiperVoice) -> None:
    assert isinstance(joe, Voice)
    chunks = list(joe.synthesize("Hold."))
    assert len(chunks) == 1
    chunk = chunks[0]
    assert chunk.rate == joe.sample_rate == 22_050 and chunk.width == 2
    assert 0.25 < chunk.duration < 1.5  # one word
    samples = chunk.samples()[:, 0]
    assert rms(samples) > 0.02  # not silence
    # Speech energy sits in the voice band, not in a hum or hiss.
    spectrum = np.abs(np.fft.rfft(samples)) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1 / chunk.rate)
    assert spectrum[(freqs > 80) & (freqs < 4000)].sum() > 0.7 * spectrum.sum()


def test_two_sentences_stream_as_two_chunks(joe: PiperVoice) -> None:
    text = "Turn your head slowly to the left. Now come back to the middle."
    chunks = list(joe.synthesize(text))
    assert len(chunks) == 2
    for chunk in chunks:
        assert 1.0 < chunk.duration < 4.5  # six to eight words each
        assert rms(chunk.samples()) > 0.02


def test_length_scale_slows_the_voice_down() -> None:
    slow = PiperVoice(length_scale=1.5)
    normal = PiperVoice(length_scale=1.0)
    assert slow.identity != normal.identity
    text = "Breathe in slowly through your nose."
    d_slow = sum(c.duration for c in slow.synthesize(text))
    d_normal = sum(c.duration for c in normal.synthesize(text))
    assert d_slow / d_normal == pytest.approx(1.5, rel=0.2)


def test_rendered_speech_starts_at_once(joe: PiperVoice) -> None:
    # Piper often leads a sentence with 0.2-0.4 s of silence; the coach trims it so a
    # count is heard when it is played, and the pause between sentences is the setting.
    settings = VoiceSettings(sentence_pause=0.3)
    chunks = list(render_sentences(joe, settings, "Turn your head to the left. Two."))
    assert len(chunks) == 2
    leads = [np.flatnonzero(np.abs(c.samples()[:, 0]) > 0.02)[0] / c.rate for c in chunks]
    assert leads[0] < 0.06
    assert 0.3 <= leads[1] < 0.36


def test_speaker_with_the_real_voice_streams_and_caches(joe: PiperVoice, tmp_path: Path) -> None:
    clock = VirtualClock(2.0)
    sink = MemorySink(joe.sample_rate, clock)
    settings = VoiceSettings(cache_dir=tmp_path, sentence_pause=0.4)
    sp = Speaker(joe, sink, settings, PromptCache(tmp_path), threaded=False)
    sp.say("Good. Now relax.", 1)
    assert len(sink.segments) == 2
    assert sink.segments[0].start == 2.0
    finish = sink.pending_finish(1)
    assert finish is not None and finish == pytest.approx(sink.last_audio_end)
    cached = sp.cached("Good. Now relax.")
    assert cached is not None
    assert cached.duration == pytest.approx(finish - 2.0, abs=1e-3)
    clock.set(finish)
    assert sink.poll_finished() == [1]


def test_missing_voice_file_names_the_file_and_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "en_US-nobody-medium.onnx"
    with pytest.raises(ModelError) as err:
        PiperVoice(missing)
    assert str(missing) in err.value.message and "--voice" in err.value.message


def test_a_folder_given_as_the_voice_is_named_as_one_with_the_voices_in_it(
    tmp_path: Path,
) -> None:
    # It said "voice file not found: DIR".
    (tmp_path / "en_US-joe-medium.onnx").write_bytes(b"\0")
    with pytest.raises(ModelError) as err:
        PiperVoice(tmp_path)
    assert f"{tmp_path} is a folder (in it: en_US-joe-medium.onnx)" in err.value.message
    assert "not found" not in err.value.message


def test_missing_config_names_the_config(tmp_path: Path) -> None:
    model = tmp_path / "voice.onnx"
    model.write_bytes(b"\0" * 100)
    with pytest.raises(ModelError) as err:
        PiperVoice(model)
    assert f"{model}.json" in err.value.message


def test_corrupt_config_names_the_config(tmp_path: Path) -> None:
    model = tmp_path / "voice.onnx"
    model.write_bytes(b"\0" * 100)
    Path(f"{model}.json").write_text("{ this is not json")
    with pytest.raises(ModelError) as err:
        PiperVoice(model)
    assert f"{model}.json" in err.value.message and "corrupt" in err.value.message


def test_a_config_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    # A voice's config edited in Windows Notepad starts with a byte-order mark.
    model = tmp_path / "voice.onnx"
    model.write_bytes(b"\0" * 100)
    Path(f"{model}.json").write_bytes(b"\xef\xbb\xbf" + b'{"audio": {"sample_rate": 16000}}')
    assert PiperVoice(model).sample_rate == 16000


def test_corrupt_model_names_the_model(tmp_path: Path) -> None:
    model = tmp_path / "voice.onnx"
    real = default_voice_path()
    model.write_bytes(real.read_bytes()[:100_000])  # a truncated download
    shutil.copy(f"{real}.json", f"{model}.json")
    voice = PiperVoice(model)
    with pytest.raises(ModelError) as err:
        voice.load()
    assert str(model) in err.value.message and "corrupt" in err.value.message


def test_identity_follows_the_file_contents_not_the_path(tmp_path: Path) -> None:
    real = default_voice_path()
    copy = tmp_path / "joe.onnx"
    copy.symlink_to(real)
    shutil.copy(f"{real}.json", f"{copy}.json")
    assert PiperVoice(copy).identity == PiperVoice().identity  # same contents, other path
    config = json.loads(Path(f"{real}.json").read_text())
    config["inference"]["noise_scale"] = 0.5
    Path(f"{copy}.json").write_text(json.dumps(config))
    assert PiperVoice(copy).identity != PiperVoice().identity
