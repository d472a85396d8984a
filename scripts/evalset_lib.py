"""Building blocks for the command-recognition evaluation set (see docs/evaluation-set.md).

Pure signal functions (levels, voice activity, noise, SNR mixing, breath and cough
synthesis), the synthesizers (espeak-ng, Flite, Festival), the WAV helpers, and the
manifest format with its validator.
Nothing here imports voicecoach, so the benchmark and the tests can use it on its own.
All audio is float32 mono at :data:`RATE`, full scale = 1.0.
"""

from __future__ import annotations

import json
import logging
import math
import subprocess
import tempfile
import wave
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_LOGGER = logging.getLogger(__name__)

RATE = 16000
"""Sample rate of every file in the set."""

FRAME = 320
"""20 ms analysis frame at :data:`RATE`."""

CATEGORIES = ("command", "embedded", "word", "speech", "noise", "silence")
SPLITS = ("dev", "test")
NOISES = ("none", "white", "pink", "babble")
SNRS = (20, 10, 5)
MANIFEST_KEYS = (
    "file",
    "expected",
    "phrase",
    "category",
    "speaker",
    "split",
    "noise",
    "snr",
    "seconds",
)

PEAK_LIMIT = 10 ** (-1.0 / 20)
"""Highest allowed sample magnitude (-1 dBFS), so nothing clips after rounding."""


# ---------------------------------------------------------------- levels and activity


def frame_powers(x: np.ndarray, frame: int = FRAME) -> np.ndarray:
    """Mean power of each whole frame of ``x``."""
    n = len(x) // frame
    if n == 0:
        return np.zeros(0)
    f = x[: n * frame].astype(np.float64).reshape(n, frame)
    return np.mean(f * f, axis=1)


def active_mask(x: np.ndarray, floor_db: float = 30.0, frame: int = FRAME) -> np.ndarray:
    """Per-sample mask of the active region: frames within ``floor_db`` of the loudest.

    Measuring speech power only where the talker is audible keeps the SNR of a short
    word with long pauses around it comparable to that of a long sentence.
    """
    p = frame_powers(x, frame)
    mask = np.zeros(len(x), dtype=bool)
    if len(p) == 0 or p.max() <= 0:
        return mask
    frames = p >= p.max() * 10 ** (-floor_db / 10)
    mask[: len(p) * frame] = np.repeat(frames, frame)
    return mask


def active_power(x: np.ndarray, floor_db: float = 30.0) -> float:
    """Mean power of ``x`` over its active region (0.0 for digital silence)."""
    mask = active_mask(x, floor_db)
    if not mask.any():
        return 0.0
    sel = x[mask].astype(np.float64)
    return float(np.mean(sel * sel))


def db(power: float) -> float:
    """Power ratio to decibels (-inf for 0)."""
    return 10 * math.log10(power) if power > 0 else -math.inf


def trim(x: np.ndarray, floor_db: float = 45.0, keep: float = 0.02) -> np.ndarray:
    """Cut leading and trailing near-silence (synthesizers pad their output)."""
    mask = active_mask(x, floor_db)
    idx = np.flatnonzero(mask)
    if len(idx) == 0:
        return x
    k = int(keep * RATE)
    return x[max(0, idx[0] - k) : min(len(x), idx[-1] + 1 + k)]


def measured_snr(speech: np.ndarray, noise: np.ndarray, floor_db: float = 30.0) -> float:
    """SNR in dB: speech power over its active region / noise power over the same samples."""
    mask = active_mask(speech, floor_db)
    s = speech[mask].astype(np.float64)
    n = noise[mask].astype(np.float64)
    return db(float(np.mean(s * s))) - db(float(np.mean(n * n)))


# ---------------------------------------------------------------- noise


def white_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian white noise, unit power."""
    return rng.standard_normal(n).astype(np.float32)


def pink_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """1/f (pink) noise, unit power, by shaping a white spectrum."""
    m = max(2, n)
    spec = np.fft.rfft(rng.standard_normal(m))
    f = np.fft.rfftfreq(m, 1 / RATE)
    f[0] = f[1]
    spec /= np.sqrt(f)
    # Nothing below 30 Hz: a mic barely picks it up, and 1/f would put most of the
    # power there, making the SNR meaningless.
    spec[f < 30] = 0
    x = np.fft.irfft(spec, m)[:n]
    return (x / (np.sqrt(np.mean(x * x)) + 1e-12)).astype(np.float32)


def brown_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """1/f^2 (brown) noise, unit power: the rumble of a quiet room."""
    m = max(2, n)
    spec = np.fft.rfft(rng.standard_normal(m))
    f = np.fft.rfftfreq(m, 1 / RATE)
    f[0] = f[1]
    spec /= np.maximum(f, 30.0)
    spec[f < 30] = 0  # no drift below what a mic picks up
    x = np.fft.irfft(spec, m)[:n]
    return (x / (np.sqrt(np.mean(x * x)) + 1e-12)).astype(np.float32)


def make_babble(
    talkers: Sequence[Sequence[np.ndarray]],
    seconds: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Overlap several talkers into a babble track of ``seconds``, unit power.

    Each talker is a list of utterances laid end to end with short random gaps from a
    random start, each talker at equal active level (+-3 dB), so no single voice
    dominates and the sum stays speech-like but unintelligible.
    """
    n = int(seconds * RATE)
    out = np.zeros(n, dtype=np.float64)
    for clips in talkers:
        track = np.zeros(n, dtype=np.float64)
        pos = -int(rng.uniform(0, 2.0) * RATE)
        order = rng.permutation(len(clips))
        i = 0
        while pos < n:
            clip = clips[order[i % len(clips)]].astype(np.float64)
            i += 1
            p = active_power(clip)
            if p > 0:
                clip = clip / math.sqrt(p)
            a, b = max(pos, 0), min(pos + len(clip), n)
            if b > a:
                track[a:b] += clip[a - pos : b - pos]
            pos += len(clip) + int(rng.uniform(0.05, 0.4) * RATE)
        out += track * 10 ** (rng.uniform(-3, 3) / 20)
    power = float(np.mean(out * out))
    return (out / math.sqrt(power)).astype(np.float32) if power > 0 else out.astype(np.float32)


def noise_segment(
    kind: str, n: int, rng: np.random.Generator, babble: np.ndarray | None
) -> np.ndarray:
    """``n`` samples of unit-power noise of ``kind`` (white, pink or babble)."""
    if kind == "white":
        return white_noise(n, rng)
    if kind == "pink":
        return pink_noise(n, rng)
    if kind == "babble":
        if babble is None or len(babble) == 0:
            raise ValueError("babble noise asked for but no babble track given")
        reps = n // len(babble) + 2
        start = int(rng.integers(0, len(babble)))
        seg = np.tile(babble, reps)[start : start + n].astype(np.float64)
        p = float(np.mean(seg * seg))
        return (seg / math.sqrt(p) if p > 0 else seg).astype(np.float32)
    raise ValueError(f"unknown noise kind {kind!r}")


def mix_at_snr(speech: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``speech + k * noise`` with ``k`` chosen so :func:`measured_snr` gives ``snr_db``.

    Noise power is taken over the speech's active region, so for non-stationary
    babble the SNR is what the listener gets while the talker talks.
    """
    if len(noise) != len(speech):
        raise ValueError("speech and noise must have the same length")
    mask = active_mask(speech)
    ps = float(np.mean(speech[mask].astype(np.float64) ** 2))
    pn = float(np.mean(noise[mask].astype(np.float64) ** 2))
    if ps <= 0 or pn <= 0:
        raise ValueError("speech or noise is silent over the active region")
    k = math.sqrt(ps / (pn * 10 ** (snr_db / 10)))
    return (speech.astype(np.float64) + k * noise).astype(np.float32)


def set_level(
    x: np.ndarray, level_dbfs: float, reference: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """Scale ``x`` so ``reference`` (default ``x``) has active RMS ``level_dbfs``; cap peaks.

    Returns the scaled signal and the gain used. When the peak would pass
    :data:`PEAK_LIMIT` the gain is lowered instead: a quieter file, never a clipped one.
    """
    ref = x if reference is None else reference
    p = active_power(ref)
    gain = 1.0 if p <= 0 else 10 ** (level_dbfs / 20) / math.sqrt(p)
    peak = float(np.max(np.abs(x))) * gain if len(x) else 0.0
    if peak > PEAK_LIMIT:
        gain *= PEAK_LIMIT / peak
    return (x * gain).astype(np.float32), gain


def pad(x: np.ndarray, lead: float, tail: float) -> np.ndarray:
    """``x`` with ``lead`` and ``tail`` seconds of digital silence around it."""
    return np.concatenate(
        [
            np.zeros(int(lead * RATE), np.float32),
            x.astype(np.float32),
            np.zeros(int(tail * RATE), np.float32),
        ]
    )


# ---------------------------------------------------------------- non-speech sounds


def _bandpass(x: np.ndarray, low: float, high: float) -> np.ndarray:
    from scipy.signal import butter, sosfilt

    sos = butter(4, [low, high], btype="bandpass", fs=RATE, output="sos")
    return sosfilt(sos, x).astype(np.float32)


def breath(kind: str, rng: np.random.Generator) -> np.ndarray:
    """A synthetic inhale or exhale: band-limited noise under a breath-shaped envelope.

    Inhales rise slowly and stop short; exhales start fast and die away. The band and
    a slow formant-like wobble vary so no two breaths are the same.
    """
    dur = rng.uniform(0.5, 1.6)
    n = int(dur * RATE)
    t = np.linspace(0, 1, n)
    if kind == "inhale":
        env = np.sin(np.pi / 2 * t) ** 1.5 * np.clip((1 - t) * 12, 0, 1)
        low, high = rng.uniform(900, 1600), rng.uniform(4500, 7000)
    elif kind == "exhale":
        env = np.clip(t * 10, 0, 1) * (1 - t) ** rng.uniform(1.0, 2.5)
        low, high = rng.uniform(300, 700), rng.uniform(2500, 4500)
    else:
        raise ValueError(f"unknown breath kind {kind!r}")
    x = _bandpass(white_noise(n, rng), low, high)
    wobble = 1 + 0.3 * np.sin(2 * np.pi * rng.uniform(2, 6) * t * dur + rng.uniform(0, 6.3))
    return (x * env * wobble).astype(np.float32)


def cough(rng: np.random.Generator, count: int = 1) -> np.ndarray:
    """One or more synthetic coughs: a sharp voiced-noise burst then a noisy decay."""
    parts = []
    for _ in range(count):
        n_burst = int(rng.uniform(0.25, 0.45) * RATE)
        t = np.arange(n_burst) / RATE
        attack = 0.01
        env = np.minimum(t / attack, 1.0) * np.exp(-t / rng.uniform(0.06, 0.14))
        noise = _bandpass(white_noise(n_burst, rng), rng.uniform(150, 400), rng.uniform(3000, 6000))
        # A rough glottal buzz under the noise, as a real cough has.
        f0 = rng.uniform(110, 260)
        buzz = np.sign(np.sin(2 * np.pi * f0 * t)) * 0.3
        burst = (noise + buzz * rng.uniform(0.2, 0.8)) * env
        parts.append(burst.astype(np.float32))
        parts.append(np.zeros(int(rng.uniform(0.08, 0.3) * RATE), np.float32))
    return np.concatenate(parts)


def room_tone(n: int, rng: np.random.Generator, hum_hz: float | None = None) -> np.ndarray:
    """Unit-power quiet-room noise: brown rumble, a little hiss, optional mains hum."""
    x = brown_noise(n, rng) + 0.3 * pink_noise(n, rng)
    if hum_hz:
        t = np.arange(n) / RATE
        x = x + 0.5 * np.sin(2 * np.pi * hum_hz * t) + 0.2 * np.sin(2 * np.pi * 3 * hum_hz * t)
    return (x / math.sqrt(float(np.mean(x * x)))).astype(np.float32)


# ---------------------------------------------------------------- synthesis and files


def resample_to_rate(x: np.ndarray, src_rate: int) -> np.ndarray:
    """Polyphase-resample ``x`` from ``src_rate`` to :data:`RATE`."""
    if src_rate == RATE:
        return x.astype(np.float32)
    from scipy.signal import resample_poly

    g = math.gcd(src_rate, RATE)
    return resample_poly(x, RATE // g, src_rate // g).astype(np.float32)


def espeak(
    text: str, voice: str, rate: int = 160, pitch: int = 50, timeout: float = 30.0
) -> np.ndarray:
    """Speak ``text`` with espeak-ng ``voice`` (e.g. ``en-us+m3``), trimmed, at :data:`RATE`."""
    proc = subprocess.run(
        ["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "--stdout", text],
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0 or len(proc.stdout) < 100:
        raise RuntimeError(
            f"espeak-ng failed for voice {voice!r}: {proc.stderr.decode(errors='replace')}"
        )
    return trim(resample_to_rate(*decode_wav_bytes(proc.stdout)))


def _render_to_file(cmd: list[str], text: str | None, what: str, timeout: float) -> np.ndarray:
    """Run a synthesizer that writes a WAV file; its audio, trimmed, at :data:`RATE`."""
    with tempfile.TemporaryDirectory(prefix="evalset-") as tmp:
        out = Path(tmp) / "out.wav"
        proc = subprocess.run(
            [a.replace("{out}", str(out)) for a in cmd],
            input=text.encode() if text is not None else None,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode != 0 or not out.is_file() or out.stat().st_size < 100:
            raise RuntimeError(f"{what} failed: {proc.stderr.decode(errors='replace')[-300:]}")
        return trim(read_wav(out))


def flite(
    text: str, voice: str, stretch: float = 1.0, f0: int = 0, timeout: float = 30.0
) -> np.ndarray:
    """Speak ``text`` with Flite's ``voice`` (awb, rms, slt, kal16), slowed by ``stretch``,
    at mean pitch ``f0`` Hz (0: the voice's own), trimmed, at :data:`RATE`."""
    cmd = ["flite", "-voice", voice, "--setf", f"duration_stretch={stretch:g}"]
    if f0:
        cmd += ["--setf", f"int_f0_target_mean={f0}"]
    return _render_to_file([*cmd, "-t", text, "-o", "{out}"], None, f"flite {voice!r}", timeout)


def festival(text: str, voice: str, stretch: float = 1.0, timeout: float = 60.0) -> np.ndarray:
    """Speak ``text`` with Festival's ``voice`` (e.g. ``kal_diphone``), slowed by
    ``stretch`` (diphone voices only), trimmed, at :data:`RATE`."""
    cmd = ["text2wave", "-eval", f"(voice_{voice})"]
    cmd += ["-eval", f"(Parameter.set 'Duration_Stretch {stretch:g})", "-o", "{out}"]
    return _render_to_file(cmd, text, f"festival {voice!r}", timeout)


def decode_wav_bytes(data: bytes) -> tuple[np.ndarray, int]:
    """Mono 16-bit samples and rate from WAV bytes (espeak's stdout leaves the sizes unset)."""
    if data[:4] != b"RIFF" or data[12:16] != b"fmt ":
        raise ValueError("not a RIFF WAV stream")
    channels = int.from_bytes(data[22:24], "little")
    rate = int.from_bytes(data[24:28], "little")
    bits = int.from_bytes(data[34:36], "little")
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "little")
        if cid == b"data":
            body = data[pos + 8 :]
            break
        pos += 8 + size
    else:
        raise ValueError("WAV stream has no data chunk")
    if bits != 16:
        raise ValueError(f"expected 16-bit WAV, got {bits}-bit")
    pcm = np.frombuffer(body[: len(body) // 2 * 2], dtype="<i2").astype(np.float32) / 32768.0
    if channels > 1:
        pcm = pcm[: len(pcm) // channels * channels].reshape(-1, channels).mean(axis=1)
    return pcm, rate


def read_wav(path: Path) -> np.ndarray:
    """A WAV file as float mono at :data:`RATE` (resampled if needed)."""
    with wave.open(str(path), "rb") as w:
        raw = w.readframes(w.getnframes())
        if w.getsampwidth() != 2:
            raise ValueError(f"{path}: expected 16-bit samples")
        x = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
        if w.getnchannels() > 1:
            x = x.reshape(-1, w.getnchannels()).mean(axis=1)
        return resample_to_rate(x, w.getframerate())


def read_raw16(path: Path) -> np.ndarray:
    """Headerless 16 kHz 16-bit little-endian PCM (the pocketsphinx test .raw files)."""
    return np.fromfile(path, dtype="<i2").astype(np.float32) / 32768.0


def write_wav(path: Path, x: np.ndarray) -> float:
    """Write 16 kHz mono 16-bit ``x`` (TPDF-dithered); return its duration in seconds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(x))
    dither = (rng.random(len(x)) - rng.random(len(x))) / 32768.0
    pcm = np.clip(np.round((x.astype(np.float64) + dither) * 32767), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm.tobytes())
    return len(pcm) / RATE


# ---------------------------------------------------------------- manifest


@dataclass(frozen=True)
class Entry:
    """One line of ``manifest.jsonl``: one WAV file and what a recognizer should do with it."""

    file: str
    """WAV path relative to the manifest's folder."""
    expected: str | None
    """Intent name the recognizer must return, or None when it must reject the file."""
    phrase: str
    """Text spoken, or a description of the sound."""
    category: str
    """command, embedded, word, speech, noise or silence."""
    speaker: str
    """Who or what made the sound, e.g. ``espeak:en-us+m3:r150:p40``, ``piper:joe``."""
    split: str
    """dev (for tuning) or test (held out)."""
    noise: str
    """Added noise: none, white, pink or babble."""
    snr: int | None
    """SNR of the added noise in dB (20, 10, 5), None when no noise was added at an SNR."""
    seconds: float
    """Duration of the file."""

    def to_json(self) -> str:
        """The manifest line, keys in the documented order."""
        return json.dumps({k: getattr(self, k) for k in MANIFEST_KEYS}, ensure_ascii=False)


def load_manifest(path: Path) -> list[Entry]:
    """The entries of a ``manifest.jsonl``, in file order (paths stay relative)."""
    entries = []
    for line in path.read_text().splitlines():
        if line.strip():
            rec = json.loads(line)
            entries.append(Entry(**{k: rec[k] for k in MANIFEST_KEYS}))
    return entries


def validate_record(rec: dict, intents: Iterable[str]) -> list[str]:
    """Problems with one manifest record (empty when it is valid)."""
    problems = []
    if tuple(rec) != MANIFEST_KEYS:
        problems.append(f"keys must be exactly {MANIFEST_KEYS}, got {tuple(rec)}")
        return problems
    f = rec["file"]
    if (
        not isinstance(f, str)
        or not f.endswith(".wav")
        or f.startswith("/")
        or ".." in f.split("/")
    ):
        problems.append(f"file must be a relative .wav path inside the folder: {f!r}")
    exp = rec["expected"]
    if exp is not None and exp not in set(intents):
        problems.append(f"expected {exp!r} is not an intent")
    if rec["category"] not in CATEGORIES:
        problems.append(f"bad category {rec['category']!r}")
    if (rec["category"] == "command") != (exp is not None):
        problems.append("only 'command' entries have an expected intent, and all of them do")
    if rec["split"] not in SPLITS:
        problems.append(f"bad split {rec['split']!r}")
    if rec["noise"] not in NOISES:
        problems.append(f"bad noise {rec['noise']!r}")
    if rec["snr"] is not None and rec["snr"] not in SNRS:
        problems.append(f"bad snr {rec['snr']!r}")
    if rec["noise"] == "none" and rec["snr"] is not None:
        problems.append("snr given without noise")
    if rec["category"] != "silence" and rec["noise"] != "none" and rec["snr"] is None:
        problems.append("noise added without an snr")
    if not isinstance(rec["phrase"], str) or not rec["phrase"]:
        problems.append("phrase must be a non-empty string")
    if not isinstance(rec["speaker"], str) or not rec["speaker"]:
        problems.append("speaker must be a non-empty string")
    if not isinstance(rec["seconds"], (int, float)) or rec["seconds"] <= 0:
        problems.append(f"bad seconds {rec['seconds']!r}")
    return problems


def validate_manifest(path: Path, intents: Iterable[str], check_audio: bool = True) -> list[str]:
    """Problems with a whole manifest and (optionally) its WAV files; empty when valid."""
    intents = list(intents)
    problems = []
    seen: set[str] = set()
    speakers: dict[str, set[str]] = {"dev": set(), "test": set()}
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as err:
            problems.append(f"line {lineno}: not JSON ({err})")
            continue
        for p in validate_record(rec, intents):
            problems.append(f"line {lineno}: {p}")
        if not isinstance(rec, dict) or "file" not in rec:
            continue
        if rec["file"] in seen:
            problems.append(f"line {lineno}: duplicate file {rec['file']}")
        seen.add(rec["file"])
        voice = ":".join(str(rec.get("speaker", "")).split(":")[:2])
        if rec.get("split") in speakers and not voice.startswith("synth"):
            # Rate and pitch settings don't make a new voice: compare engine:voice only.
            speakers[rec["split"]].add(voice)
        if check_audio:
            wav = path.parent / rec["file"]
            try:
                with wave.open(str(wav), "rb") as w:
                    fmt = (w.getnchannels(), w.getsampwidth(), w.getframerate())
                    secs = w.getnframes() / w.getframerate()
            except (OSError, wave.Error) as err:
                problems.append(f"line {lineno}: cannot read {wav} ({err})")
                continue
            if fmt != (1, 2, RATE):
                problems.append(f"line {lineno}: {wav} is {fmt}, want mono 16-bit {RATE} Hz")
            if abs(secs - rec["seconds"]) > 0.01:
                problems.append(f"line {lineno}: seconds {rec['seconds']} but file has {secs:.3f}")
    shared = (speakers["dev"] & speakers["test"]) - {""}
    if shared:
        problems.append(f"speakers in both splits: {sorted(shared)[:5]}")
    return problems
