"""``voicecoach recognize``: each audio file as one utterance, every command active."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from ..asr import ENGINES
from ..asr.base import AsrSettings, Recognition, Recognizer
from ..audio.chunk import AudioChunk


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``recognize``."""
    p = sub.add_parser(
        "recognize",
        help="recognize a command in each audio file",
        description="Treat each file as one utterance with every command active and print "
        "one line per file. Any sample rate and channel count is accepted.",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="auto = Vosk when an English Vosk model is installed, else PocketSphinx",
    )
    p.add_argument("--vosk-model", type=Path, default=None, metavar="DIR", help="a Vosk model")
    p.add_argument("--threshold", type=float, default=None, help="the engine's rejection setting")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=run_recognize)


def read_audio(path: Path) -> AudioChunk:
    """A file as 16 kHz mono int16 (converted once, here). Raises OSError or ValueError."""
    import soundfile as sf

    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
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
        return json.dumps(record, ensure_ascii=False)
    return f"{path}\t{command or '-'}\t{r.confidence:.2f}\t{r.text}"


def error_line(path: Path, message: str, as_json: bool) -> str:
    """The line for a file that could not be read."""
    if as_json:
        return json.dumps({"file": str(path), "command": None, "error": message})
    return f"{path}\terror\t{message}"


def recognize_files(recognizer: Recognizer, files: list[Path], as_json: bool, out: TextIO) -> int:
    """Print a line per file; returns how many files could not be read."""
    errors = 0
    for path in files:
        try:
            chunk = read_audio(path)
        except (OSError, ValueError) as err:
            errors += 1
            print(error_line(path, f"cannot read: {err}", as_json), file=out, flush=True)
            continue
        print(line_for(path, recognizer.recognize_utterance(chunk), as_json), file=out, flush=True)
    return errors


def run_recognize(args: argparse.Namespace) -> int:
    """Load the engine once, then every file; exit 1 if a file was unreadable."""
    from ..asr import load_recognizer

    settings = AsrSettings(engine=args.engine, vosk_model=args.vosk_model, threshold=args.threshold)
    recognizer = load_recognizer(settings)
    print(f"engine: {recognizer.describe()}", file=sys.stderr)
    return 1 if recognize_files(recognizer, args.files, args.json, sys.stdout) else 0
