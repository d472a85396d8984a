"""The prompt cache: hits, misses, corrupt and foreign entries, an unwritable or full disk."""

from __future__ import annotations

import logging
import resource
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from voicecoach.audio.chunk import AudioChunk
from voicecoach.audio.sinks import MemorySink, VirtualClock
from voicecoach.tts.base import FakeVoice, VoiceSettings
from voicecoach.tts.cache import MAGIC, PromptCache, prompt_key
from voicecoach.tts.prepare import GIVE_UP, prepare_prompts
from voicecoach.tts.speaker import Speaker

TEXT = "Turn your head slowly to the left. Hold it there."


def voice(**kw: object) -> FakeVoice:
    return FakeVoice(sample_rate=16_000, amplitude=0.3, **kw)  # type: ignore[arg-type]


def speaker(v: FakeVoice, cache_dir: Path, **settings: object) -> tuple[Speaker, MemorySink]:
    sink = MemorySink(16_000, VirtualClock())
    s = VoiceSettings(cache_dir=cache_dir, **settings)  # type: ignore[arg-type]
    return Speaker(v, sink, s, PromptCache(cache_dir), threaded=False), sink


def audio_of(sink: MemorySink) -> np.ndarray:
    return sink.timeline(0.0)


def test_put_then_get_returns_the_same_audio(tmp_path: Path) -> None:
    cache = PromptCache(tmp_path)
    chunk = AudioChunk.from_float(np.linspace(-0.5, 0.5, 1000), 22_050)
    assert cache.get("ab" * 32) is None
    assert cache.put("ab" * 32, chunk, "hello")
    got = cache.get("ab" * 32)
    assert got is not None and got.audio == chunk.audio and got.rate == 22_050


def test_key_depends_on_voice_settings_that_change_audio_and_text_only() -> None:
    base = VoiceSettings()
    key = prompt_key("voice-a", base, "Hold.")
    assert prompt_key("voice-a", base, "Hold.") == key
    assert prompt_key("voice-b", base, "Hold.") != key
    assert prompt_key("voice-a", base, "Relax.") != key
    assert prompt_key("voice-a", VoiceSettings(volume=0.5), "Hold.") != key
    assert prompt_key("voice-a", VoiceSettings(sentence_pause=0.6), "Hold.") != key
    assert prompt_key("voice-a", VoiceSettings(cache_dir=Path("/x")), "Hold.") == key


def test_second_say_is_a_cache_hit_without_synthesis(tmp_path: Path) -> None:
    v = voice()
    sp, sink = speaker(v, tmp_path)
    sp.say(TEXT, 1)
    assert (sp.cache_misses, sp.cache_hits, len(v.calls)) == (1, 0, 1)
    sp2, sink2 = speaker(v, tmp_path)
    sp2.say(TEXT, 1)
    assert (sp2.cache_misses, sp2.cache_hits, len(v.calls)) == (0, 1, 1)
    assert np.allclose(audio_of(sink), audio_of(sink2), atol=1e-4)
    assert sink2.poll_finished() == [] and sink2.pending_finish(1) == pytest.approx(
        sink.pending_finish(1)
    )


def entry_path(sp: Speaker, text: str) -> Path:
    assert sp.cache is not None
    return sp.cache.path_for(sp.cache_key(text))


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: b[:-1000], id="truncated"),
        pytest.param(lambda b: b[:-5] + bytes(x ^ 0xFF for x in b[-5:]), id="flipped-audio"),
        pytest.param(lambda b: b"", id="empty"),
        pytest.param(lambda b: b"RIFF" + b[4:], id="bad-magic"),
        pytest.param(lambda b: b[: len(MAGIC)] + b"{not json\n" + b[len(MAGIC) :], id="bad-header"),
    ],
)
def test_corrupt_entry_is_never_played_but_rendered_again(tmp_path: Path, damage: object) -> None:
    v = voice()
    sp, sink = speaker(v, tmp_path)
    sp.say(TEXT, 1)
    path = entry_path(sp, TEXT)
    good = path.read_bytes()
    path.write_bytes(damage(good))  # type: ignore[operator]

    sp2, sink2 = speaker(v, tmp_path)
    sp2.say(TEXT, 1)
    assert sp2.cache_hits == 0 and sp2.cache_misses == 1 and len(v.calls) == 2
    assert np.allclose(audio_of(sink2), audio_of(sink), atol=1e-4)  # the full, fresh rendering
    # The entry was rewritten and is valid again.
    assert sp2.cached(TEXT) is not None
    assert path.read_bytes() != damage(good)  # type: ignore[operator]


def test_entry_of_another_text_or_voice_is_never_played(tmp_path: Path) -> None:
    v = voice()
    sp, _ = speaker(v, tmp_path)
    sp.say("Relax.", 1)
    # Put the "Relax." entry where TEXT's entry belongs: its header names another key.
    entry_path(sp, TEXT).parent.mkdir(parents=True, exist_ok=True)
    entry_path(sp, TEXT).write_bytes(entry_path(sp, "Relax.").read_bytes())
    assert sp.cached(TEXT) is None

    other = voice(name="another voice")
    sp2, _ = speaker(other, tmp_path)
    assert sp2.cached("Relax.") is None  # other voice: other key, a miss
    sp3, _ = speaker(v, tmp_path, volume=0.5)
    assert sp3.cached("Relax.") is None  # other setting: a miss


def test_unwritable_cache_still_speaks_and_warns_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocked = tmp_path / "cache"
    blocked.write_text("a file where the cache folder should be")
    v = voice()
    sp, sink = speaker(v, blocked)
    with caplog.at_level(logging.WARNING, logger="voicecoach.tts.cache"):
        sp.say(TEXT, 1)
        sp.say("Relax.", 2)
    assert sink.pending_finish(2) is not None
    assert np.abs(audio_of(sink)).max() > 0.2  # it spoke, with live synthesis
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "live synthesis" in warnings[0].getMessage()


@contextmanager
def file_size_limit(nbytes: int) -> Iterator[None]:
    """Writes beyond ``nbytes`` fail (EFBIG), as they would on a full disk (ENOSPC)."""
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes, old_limit[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)


def test_full_disk_still_speaks_and_leaves_no_partial_entry(tmp_path: Path) -> None:
    v = voice()
    sp, sink = speaker(v, tmp_path)
    with file_size_limit(4096):
        sp.say(TEXT, 1)
    assert np.abs(audio_of(sink)).max() > 0.2
    assert sp.cached(TEXT) is None
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]  # temp file removed


def test_no_cache_setting_always_synthesizes(tmp_path: Path) -> None:
    v = voice()
    sp, _ = speaker(v, tmp_path, use_cache=False)
    sp.say("Hold.", 1)
    sp.say("Hold.", 2)
    assert len(v.calls) == 2
    assert not list(tmp_path.iterdir())


def test_prepare_renders_once_then_only_verifies(tmp_path: Path) -> None:
    v = voice()
    settings = VoiceSettings(cache_dir=tmp_path)
    cache = PromptCache(tmp_path)
    texts = ["One.", "Two.", "Hold.", "One.", "Relax. Breathe in."]
    seen: list[tuple[int, int]] = []
    first = prepare_prompts(v, settings, cache, texts, lambda d, t, _: seen.append((d, t)))
    assert (first.total, first.cached, first.rendered) == (4, 0, 4)
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    second = prepare_prompts(v, settings, cache, texts)
    assert (second.cached, second.rendered) == (4, 0)
    assert len(v.calls) == 4

    # A damaged entry is found and rendered again.
    key = prompt_key(v.identity, settings, "Two.")
    cache.path_for(key).write_bytes(b"garbage")
    third = prepare_prompts(v, settings, cache, texts)
    assert (third.cached, third.rendered) == (3, 1)


def test_prepare_stops_when_the_cache_cannot_be_written(tmp_path: Path) -> None:
    blocked = tmp_path / "cache"
    blocked.write_text("not a folder")
    v = voice()
    texts = ["One.", "Two.", "Three.", "Four.", "Five.", "Six."]
    result = prepare_prompts(v, VoiceSettings(), PromptCache(blocked), texts)
    assert result.write_failed and result.rendered == 0
    assert len(v.calls) == 1  # did not go on rendering what cannot be stored


def test_prepare_stops_when_every_write_fails_in_a_folder_that_is_there(tmp_path: Path) -> None:
    # A full or read-only disk fails every write though the folder is there; here a
    # file sits where each entry's subfolder goes.
    for n in range(256):
        (tmp_path / f"{n:02x}").write_text("in the way")
    v = voice()
    texts = ["One.", "Two.", "Three.", "Four.", "Five.", "Six."]
    result = prepare_prompts(v, VoiceSettings(cache_dir=tmp_path), PromptCache(tmp_path), texts)
    assert result.write_failed and (result.rendered, result.failed) == (0, GIVE_UP)
    assert len(v.calls) == GIVE_UP


def test_prepare_stops_when_the_disk_fills_part_way(tmp_path: Path) -> None:
    v = voice()
    settings = VoiceSettings(cache_dir=tmp_path)
    cache = PromptCache(tmp_path)
    folders: dict[Path, str] = {}  # twelve texts whose entries go in twelve subfolders
    for n in range(1000):
        text = f"Line {n}."
        folders.setdefault(cache.path_for(prompt_key(v.identity, settings, text)).parent, text)
        if len(folders) == 12:
            break
    texts = list(folders.values())
    # The first two are stored; from the third on, every write fails.
    for folder in list(folders)[2:]:
        folder.write_text("in the way")
    result = prepare_prompts(v, settings, cache, texts)
    assert result.write_failed and (result.rendered, result.failed) == (2, GIVE_UP)
    assert len(v.calls) == 2 + GIVE_UP  # did not render the other seven for nothing


def test_prepare_goes_past_an_entry_that_cannot_be_stored(tmp_path: Path) -> None:
    v = voice()
    settings = VoiceSettings(cache_dir=tmp_path)
    cache = PromptCache(tmp_path)
    texts = ["One.", "Two.", "Three.", "Four."]
    # Something in the way of the first entry: a folder where its file goes.
    cache.path_for(prompt_key(v.identity, settings, "One.")).mkdir(parents=True)
    result = prepare_prompts(v, settings, cache, texts)
    assert not result.write_failed
    assert (result.rendered, result.failed) == (3, 1)
    assert all(cache.contains(prompt_key(v.identity, settings, t)) for t in texts[1:])
