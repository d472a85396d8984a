"""Speech from a voice built from a real talker's recordings: Flite's ``awb`` (CMU ARCTIC).

PocketSphinx's English model fits it much as it fits a person; espeak-ng's formant
speech it fits poorly, and its second pass (the phone-loop check, see
:mod:`voicecoach.asr.pocketsphinx`) rejects many espeak-ng commands whose words it
read right. Tests of what the recognizer accepts use this voice. Flite comes with
``scripts/install.sh --test``. It renders a text the same way every time.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

import numpy as np
import soundfile as sf

from voicecoach.audio.chunk import ASR_RATE, resample

HAVE_FLITE = shutil.which("flite") is not None


@cache
def flite(text: str, voice: str = "awb", stretch: float = 1.0) -> np.ndarray:
    """``text`` in Flite's ``voice``, slowed by ``stretch``: the recognizer's 16 kHz,
    float, peak 0.5, with Flite's own short silences either side."""
    with tempfile.TemporaryDirectory(prefix="voicecoach-flite-") as tmp:
        out = Path(tmp) / "say.wav"
        cmd = ["flite", "-voice", voice, "--setf", f"duration_stretch={stretch:g}"]
        subprocess.run([*cmd, "-t", text, "-o", str(out)], capture_output=True, check=True)
        audio, rate = sf.read(out, dtype="float32")
    audio = resample(audio, rate, ASR_RATE)
    audio = 0.5 * audio / np.max(np.abs(audio))
    audio.flags.writeable = False  # cached: shared between tests
    return audio
