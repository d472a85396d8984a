#!/usr/bin/env python3
"""Train the command verifier (voicecoach/asr/verify.py): a multinomial logistic
regression over 16 speech embeddings, one class per intent plus "none".

Training data: evaluation sets (scripts/make_eval_set.py, size full) built with other
seeds than the benchmark's (20261125), their ``dev`` split only: the dev voices at
other rates, pitches, noise draws and SNRs. The test split's voices, and the coach's
own voice (Joe, which is in the test split only), are never heard, so the benchmark's
test split stays a measure of unheard voices. Each file is seen three times, its
window ending at the file's end and 120 and 240 ms before it, since in a stream the
verdict comes 0.1-0.5 s after the last word, and each time with something drawn to
come before it (see QUIET_SHARE): the window is 2 s, longer than most files.

    python scripts/train_verifier.py --build 1 2 3 4 --work /tmp/verifier-sets
    python scripts/train_verifier.py --sets /tmp/verifier-sets/seed1 ... --check eval/full

``--check`` prints the classifier's own figures (alone, without PocketSphinx) on a set's
dev and test splits; the recognizer's figures with it are ``scripts/bench_asr.py``'s.
Writes voicecoach/asr/verifier.npz (or ``--out``). Needs scipy (for L-BFGS).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import wave
from multiprocessing import Pool
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from voicecoach.asr.verify import FRAMES, WEIGHTS, WINDOW, SpeechEmbedding  # noqa: E402

_LOGGER = logging.getLogger("train_verifier")

TRIMS = (0, 1920, 3840)
"""Samples cut from a file's end for its three training windows (0, 120, 240 ms)."""

LEAD = 4000
"""Samples (0.25 s) at a file's start that hold only its background (every file of the
set has 0.3-0.5 s of lead-in)."""

QUIET_SHARE, OWN_SHARE = 0.3, 0.35
"""What comes before a file in its window, which is longer than most files: the
runtime's faint noise (as at the start of a stream, or for a whole short file) in
this share of the windows; the file's own background continued (its lead-in, mirrored
back and forth) in this share; and in the rest the same with a talker under the whole
window (a television) 10-30 dB below the file's loudest sound. Trained with the faint
noise alone, the classifier learnt that a quiet start means a command: a television
30 dB below took "stop" from 0.72 to 0.001."""

TALK_FILES = ("0870", "0890")
"""The LibriVox reader's files of the evaluation set's dev split: the talker under the
training windows."""

_talk: np.ndarray | None = None

L2 = 300.0
"""Weight penalty (on standardised features), chosen on the dev split: 30, 100, 300 and
1000 were tried; 300 gave the best verification trade there and converges."""

_embedding: SpeechEmbedding | None = None


def read_wav16(path: Path) -> np.ndarray:
    with wave.open(str(path)) as w:
        if w.getframerate() != 16000 or w.getnchannels() != 1 or w.getsampwidth() != 2:
            raise ValueError(f"{path}: not 16 kHz mono 16-bit")
        return np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")


def talk() -> np.ndarray:
    """The dev split's LibriVox files, in 16-bit units, at an active RMS of 1."""
    global _talk
    if _talk is None:
        import make_eval_set

        folder = make_eval_set.PS_DATA / "librivox"
        parts = [read_wav16(p) for f in TALK_FILES for p in folder.glob(f"*-{f}.wav")]
        if len(parts) != len(TALK_FILES):
            raise SystemExit(f"the LibriVox files {TALK_FILES} are missing from {folder}")
        x = np.concatenate(parts).astype(np.float64)
        _talk = x / active_rms(x)
    return _talk


def active_rms(x: np.ndarray) -> float:
    """RMS over the 20 ms frames within 30 dB of the loudest."""
    frames = x[: len(x) // 320 * 320].reshape(-1, 320).astype(np.float64)
    power = np.mean(frames * frames, axis=1)
    return float(np.sqrt(np.mean(power[power >= power.max() / 1000]))) if len(power) else 0.0


def in_context(audio: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The file with something before it (see :data:`QUIET_SHARE`), float."""
    x = audio.astype(np.float64)
    kind = rng.random()
    if kind < QUIET_SHARE:
        return x  # the runtime pads it with its faint noise
    lead = x[:LEAD]
    before = np.resize(np.concatenate([lead, lead[::-1]]), WINDOW)
    x = np.concatenate([before, x])
    if kind >= QUIET_SHARE + OWN_SHARE:
        source = talk()
        start = int(rng.integers(0, len(source) - len(x)))
        level = active_rms(audio) * 10 ** (rng.uniform(-30.0, -10.0) / 20)
        x = x + source[start : start + len(x)] * level
    return np.clip(x, -32768, 32767)


def _features(job: tuple[str, int | None, tuple[int, ...]]) -> np.ndarray:
    global _embedding
    if _embedding is None:
        _embedding = SpeechEmbedding()
    path, seed, trims = job
    audio = read_wav16(Path(path))
    out = []
    for k, t in enumerate(trims):
        x = audio if seed is None else in_context(audio, np.random.default_rng([seed, k]))
        out.append(_embedding(x[: len(x) - t] if t else x))
    return np.stack(out)


def features(
    folder: Path, split: str | None, trims: tuple[int, ...], jobs: int, context: bool = True
) -> tuple[np.ndarray, list[dict]]:
    """Embeddings (n x FRAMES x 96) of a set's files in ``split`` (None = all), each once
    per trim (in a context drawn for it, see :func:`in_context`, unless ``context`` is
    False), and the manifest records in the same order."""
    rows = [json.loads(line) for line in (folder / "manifest.jsonl").read_text().splitlines()]
    rows = [r for r in rows if split is None or r["split"] == split]
    salt = sum(folder.name.encode())  # each set its own draws, the same every run
    work = [
        (str(folder / r["file"]), salt * 100_000 + i if context else None, trims)
        for i, r in enumerate(rows)
    ]
    with Pool(min(2, max(1, jobs))) as pool:
        out = pool.map(_features, work, chunksize=16)
    x = np.concatenate(out)
    return x, [r for r in rows for _ in trims]


def label(row: dict) -> str:
    return row["expected"] or "none"


def fit(
    x: np.ndarray, y: list[str], classes: list[str], l2: float = L2, iters: int = 400
) -> tuple[np.ndarray, np.ndarray, object]:
    """Multinomial logistic regression with an L2 penalty on standardised features;
    returns weights and biases for the raw features (the standardisation folded in)."""
    from scipy.optimize import minimize

    n, d = x.shape
    k = len(classes)
    index = {c: i for i, c in enumerate(classes)}
    target = np.zeros((n, k))
    target[np.arange(n), [index[c] for c in y]] = 1.0
    mean = x.mean(axis=0)
    std = x.std(axis=0) + 1e-6
    z = (x - mean) / std

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        w = theta[: d * k].reshape(d, k)
        b = theta[d * k :]
        s = z @ w + b
        s -= s.max(axis=1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(axis=1, keepdims=True)
        value = -np.sum(target * np.log(p + 1e-12)) / n + 0.5 * l2 * np.sum(w * w) / n
        g = (p - target) / n
        grad = np.concatenate([(z.T @ g + l2 * w / n).ravel(), g.sum(axis=0)])
        return float(value), grad

    result = minimize(
        loss, np.zeros(d * k + k), jac=True, method="L-BFGS-B", options={"maxiter": iters}
    )
    w = result.x[: d * k].reshape(d, k) / std[:, None]
    b = result.x[d * k :] - mean @ w
    return w.astype(np.float32), b.astype(np.float32), result


def probabilities(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    s = x @ w + b
    s -= s.max(axis=1, keepdims=True)
    p = np.exp(s)
    return p / p.sum(axis=1, keepdims=True)


def report(
    x: np.ndarray, rows: list[dict], w: np.ndarray, b: np.ndarray, classes: list[str]
) -> None:
    """The classifier alone: recall, command taken for another, false accepts, at
    several least probabilities for its best class."""
    p = probabilities(x.reshape(len(x), -1), w, b)
    best = np.array(classes)[p.argmax(axis=1)]
    conf = p.max(axis=1)
    truth = np.array([label(r) for r in rows])
    command = truth != "none"
    for t in (0.5, 0.8, 0.95):
        pred = np.where((best != "none") & (conf >= t), best, "none")
        recall = np.mean(pred[command] == truth[command])
        wrong = np.mean((pred[command] != truth[command]) & (pred[command] != "none"))
        fa = np.mean(pred[~command] != "none")
        print(
            f"  alone, best class at least {t:g}: recall {100 * recall:.1f} %, "
            f"wrong command {100 * wrong:.1f} %, false accepts {100 * fa:.1f} %"
        )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sets", type=Path, nargs="*", default=[], help="built sets to train on")
    ap.add_argument("--build", type=int, nargs="*", default=[], help="seeds of sets to build")
    ap.add_argument("--work", type=Path, default=Path("eval/verifier-train"))
    ap.add_argument("--out", type=Path, default=WEIGHTS)
    ap.add_argument("--l2", type=float, default=L2)
    ap.add_argument("--check", type=Path, help="an evaluation set to report the classifier on")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    sets = list(args.sets)
    if 20261125 in args.build:
        raise SystemExit("seed 20261125 is the benchmark's: train on other seeds")
    for seed in args.build:
        import make_eval_set

        folder = args.work / f"seed{seed}"
        if not (folder / "manifest.jsonl").is_file():
            _LOGGER.info("building the evaluation set with seed %d in %s", seed, folder)
            make_eval_set.build(folder, make_eval_set.SIZES["full"], seed, args.jobs)
        sets.append(folder)
    if not sets:
        raise SystemExit("nothing to train on: give --sets or --build")
    t0 = time.monotonic()
    xs, rows = [], []
    for folder in sets:
        _LOGGER.info("embedding the dev split of %s", folder)
        x, r = features(folder, "dev", TRIMS, args.jobs)
        xs.append(x)
        rows += r
    x = np.concatenate(xs).reshape(-1, FRAMES * 96)
    y = [label(r) for r in rows]
    classes = sorted(set(y))
    _LOGGER.info("fitting on %d windows, %d classes", len(x), len(classes))
    w, b, result = fit(x, y, classes, args.l2)
    _LOGGER.info(
        "L-BFGS: %s iterations, %s", getattr(result, "nit", "?"), getattr(result, "message", "")
    )
    meta = {
        "sets": [str(s) for s in sets],
        "split": "dev",
        "trims": list(TRIMS),
        "l2": args.l2,
        "windows": len(x),
    }
    np.savez(args.out, W=w, b=b, classes=np.array(classes), meta=json.dumps(meta))
    print(
        f"wrote {args.out}: {len(x)} windows, {len(classes)} classes, {time.monotonic() - t0:.0f} s"
    )
    if args.check is not None:
        for split in ("dev", "test"):
            cx, crows = features(args.check, split, (0,), args.jobs, context=False)
            print(f"{args.check} {split} ({len(crows)} files):")
            report(cx, crows, w, b, classes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
