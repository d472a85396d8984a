"""``voicecoach recognize``: each audio file as one utterance, every command active."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from ..asr import ENGINES
from ..asr.base import AsrSettings, Recognition, Recognizer
from ..audio.chunk import ASR_RATE, AudioChunk
from .argtypes import number_in


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``recognize``."""
    p = sub.add_parser(
        "recognize",
        help="recognize a command in each audio file",
        description="Treat each file as one utterance with every command active and print "
        "one line per file. Any sample rate and channel count is accepted; headerless .raw "
        "and .pcm files are read as 16 kHz mono 16-bit little-endian.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="auto = Vosk when an English Vosk model is installed, else PocketSphinx",
    )
    p.add_argument("--vosk-model", type=Path, default=None, metavar="DIR", help="a Vosk model")
    p.add_argument(
        "--threshold",
        type=number_in(0, 1),
        default=None,
        help="the engine's rejection setting, 0 to 1 (PocketSphinx: how much of the speech "
        "the command's words must cover; Vosk: the least word confidence)",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.add_argument(
        "--jobs",
        type=number_in(0, whole=True),
        default=1,
        metavar="N",
        help="decide N files at a time, each process with its own engine (0 = one per "
        "core); the lines still come in the files' order",
    )
    p.set_defaults(func=run_recognize)


RAW_SUFFIXES = (".raw", ".pcm")
"""Headerless audio, read as 16 kHz mono 16-bit little-endian: the form PocketSphinx's
and Vosk's own tools and test recordings use. A headerless file says nothing of its
rate, so another rate would be decoded as if it were 16 kHz."""


def read_audio(path: Path) -> AudioChunk:
    """A file as 16 kHz mono int16 (converted once, here). Raises OSError or ValueError."""
    import soundfile as sf

    # For these libsndfile says only "System error" or "Format not recognised".
    if not path.exists():
        raise ValueError("no such file")
    if path.is_dir():
        raise ValueError("it is a folder, not an audio file")
    if path.is_file() and path.stat().st_size == 0:
        raise ValueError("the file is empty (0 bytes)")
    raw = path.suffix.lower() in RAW_SUFFIXES
    if raw and path.is_file() and path.stat().st_size % 2:
        raise ValueError("an odd number of bytes: not 16-bit headerless audio")
    headerless: dict[str, Any] = {}
    if raw:
        headerless = dict(
            format="RAW", subtype="PCM_16", samplerate=ASR_RATE, channels=1, endian="LITTLE"
        )
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True, **headerless)
    except sf.LibsndfileError as err:  # a RuntimeError subclass
        raise ValueError(str(err)) from err
    if data.shape[0] == 0:
        raise ValueError("no audio in the file")
    return AudioChunk.from_float(data, int(rate)).to_mono16k()


def line_for(path: Path, r: Recognition, as_json: bool) -> str:
    """One output line."""
    command = r.intent.value if r.intent is not None else None
    if as_json:
        record = {
            "file": str(path),
            "command": command,
            "text": r.text,
            "confidence": round(r.confidence, 4),
        }
        if r.read is not None:  # the command check chose the command over these words
            record["read"] = r.read
        return json.dumps(record, ensure_ascii=False)
    return f"{path}\t{command or '-'}\t{r.confidence:.2f}\t{r.text}"


def error_line(path: Path, message: str, as_json: bool) -> str:
    """The line for a file that could not be read."""
    if as_json:
        return json.dumps({"file": str(path), "command": None, "error": message})
    return f"{path}\terror\t{message}"


def decide_file(recognizer: Recognizer, path: Path, as_json: bool) -> tuple[str, bool]:
    """The line for one file, and whether it could not be read."""
    try:
        chunk = read_audio(path)
    except (OSError, ValueError) as err:
        return error_line(path, f"cannot read: {err}", as_json), True
    return line_for(path, recognizer.recognize_utterance(chunk), as_json), False


def recognize_files(recognizer: Recognizer, files: list[Path], as_json: bool, out: TextIO) -> int:
    """Print a line per file; returns how many files could not be read."""
    errors = 0
    for path in files:
        line, failed = decide_file(recognizer, path, as_json)
        errors += failed
        print(line, file=out, flush=True)
    return errors


_worker: Recognizer | None = None  # a --jobs process's own engine


def _load_worker(settings: AsrSettings) -> None:
    from ..asr import load_recognizer

    global _worker
    _worker = load_recognizer(settings)


def _decide_in_worker(path: Path, as_json: bool) -> tuple[str, bool]:
    assert _worker is not None
    return decide_file(_worker, path, as_json)


def recognize_in_parallel(
    settings: AsrSettings, files: list[Path], as_json: bool, out: TextIO, jobs: int
) -> int:
    """:func:`recognize_files` over ``jobs`` processes, each loading its own engine
    (started afresh, not forked: the engines' libraries keep threads); the lines come
    in the files' order. Returns how many files could not be read."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    errors = 0
    with ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_load_worker,
        initargs=(settings,),
    ) as pool:
        decide = partial(_decide_in_worker, as_json=as_json)
        chunk = max(1, min(16, len(files) // (4 * jobs)))
        for line, failed in pool.map(decide, files, chunksize=chunk):
            errors += failed
            print(line, file=out, flush=True)
    return errors


def run_recognize(args: argparse.Namespace) -> int:
    """Load the engine once (and once in each ``--jobs`` process), then decide every
    file; exit 1 if a file was unreadable."""
    import os

    from ..asr import load_recognizer

    settings = AsrSettings(engine=args.engine, vosk_model=args.vosk_model, threshold=args.threshold)
    jobs = min(args.jobs or os.cpu_count() or 1, len(args.files))
    recognizer = load_recognizer(settings)  # here too: a missing model is reported once
    print(f"engine: {recognizer.describe()}", file=sys.stderr)
    if jobs > 1:
        del recognizer
        errors = recognize_in_parallel(settings, args.files, args.json, sys.stdout, jobs)
    else:
        errors = recognize_files(recognizer, args.files, args.json, sys.stdout)
    return 1 if errors else 0
