"""``voicecoach say`` and ``voicecoach prepare``: the coach's voice from the command line."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

from ..tts.base import LENGTH_SCALE_RANGE, SENTENCE_PAUSE_RANGE, VOLUME_RANGE, VoiceSettings
from .argtypes import number_in

VOICE_HELP = "a Piper .onnx voice, its .onnx.json next to it (default: the joe voice)"


def add_voice_arguments(p: argparse.ArgumentParser) -> None:
    """The options that build :class:`VoiceSettings` (shared with other subcommands).

    Their values are checked here, against the settings' own ranges, so a bad one is
    refused naming the option as typed, before the command does anything.
    """
    g = p.add_argument_group("voice")
    g.add_argument("--voice", type=Path, default=None, metavar="PATH", help=VOICE_HELP)
    g.add_argument(
        "--length-scale",
        type=number_in(*LENGTH_SCALE_RANGE),
        default=None,
        metavar="X",
        help="speaking rate: above 1 slower, below 1 faster, {:g} to {:g} (default: the "
        "voice's own)".format(*LENGTH_SCALE_RANGE),
    )
    g.add_argument(
        "--sentence-pause",
        type=number_in(*SENTENCE_PAUSE_RANGE, "seconds"),
        default=VoiceSettings.sentence_pause,
        metavar="SECONDS",
        help="silence between sentences, {:g} to {:g} (default: %(default)s)".format(
            *SENTENCE_PAUSE_RANGE
        ),
    )
    g.add_argument(
        "--volume",
        type=number_in(*VOLUME_RANGE),
        default=VoiceSettings.volume,
        help="gain, 1.0 = as rendered, {:g} to {:g} (default: %(default)s)".format(*VOLUME_RANGE),
    )
    g.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="pre-rendered prompts (default: prompts/ in the XDG cache dir)",
    )


def voice_settings(args: argparse.Namespace, use_cache: bool = True) -> VoiceSettings:
    """Build the frozen settings from parsed arguments (once, here)."""
    try:
        return VoiceSettings(
            model=args.voice,
            length_scale=args.length_scale,
            sentence_pause=args.sentence_pause,
            volume=args.volume,
            cache_dir=args.cache_dir,
            use_cache=use_cache and not getattr(args, "no_cache", False),
        )
    except ValueError as err:
        raise SystemExit(f"voicecoach: {err}") from err


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``say`` and ``prepare`` subcommands."""
    p = sub.add_parser(
        "say",
        help="speak a text with the coach's voice, or write it to a WAV file",
        description="Speak TEXT with the configured voice (sentence by sentence), or write "
        "it to a WAV file with --out.",
    )
    p.add_argument("text", metavar="TEXT", help="what to say")
    p.add_argument("--out", type=Path, default=None, metavar="FILE.wav", help="write a WAV file")
    p.add_argument("--device", default=None, help="output device, by number or (part of its) name")
    p.add_argument("--no-cache", action="store_true", help="always synthesize live")
    add_voice_arguments(p)
    p.set_defaults(func=run_say)

    p = sub.add_parser(
        "prepare",
        help="render every fixed text of routines into the prompt cache",
        description="Render every fixed text the coach may say in the given routines "
        "(instructions, counts, safety and help texts, re-prompts) into the prompt cache, "
        "so a session never waits for synthesis. Already cached texts are only verified.",
    )
    p.add_argument("routines", nargs="*", metavar="ROUTINE", help="routine ids")
    p.add_argument("--all", action="store_true", help="every available routine")
    add_voice_arguments(p)
    p.set_defaults(func=run_prepare)


def _device(value: str | None) -> int | str | None:
    return int(value) if value is not None and value.isdigit() else value


def run_say(args: argparse.Namespace) -> int:
    """Speak or write ``args.text``."""
    from ..audio.sinks import FileSink, Sink, VirtualClock
    from ..tts.cache import PromptCache
    from ..tts.piper import PiperVoice
    from ..tts.speaker import Speaker

    if not args.text.strip():
        raise SystemExit("voicecoach: nothing to say: give the text in quotes")
    if args.out is not None and not args.out.parent.is_dir():
        raise SystemExit(
            f"voicecoach: cannot write {args.out}: the folder {args.out.parent} does not "
            "exist; create it or choose another --out"
        )
    if args.out is not None and args.out.is_dir():
        raise SystemExit(
            f"voicecoach: cannot write {args.out}: it is a folder; give a file name, "
            f"like --out {args.out / 'say.wav'}"
        )
    settings = voice_settings(args)
    voice = PiperVoice.from_settings(settings)
    voice.load()  # a corrupt model fails here, with a message naming the file
    cache = PromptCache.from_settings(settings)
    sink: Sink
    if args.out is not None:
        clock = VirtualClock()
        sink = FileSink(args.out, voice.sample_rate, clock, origin=0.0)
        speaker = Speaker(voice, sink, settings, cache, threaded=False)
        speaker.say(args.text, 1)
        try:
            sink.close()
        except OSError as err:  # no permission, a read-only or full disk
            raise SystemExit(
                f"voicecoach: cannot write {args.out}: {err.strerror or err}; choose another --out"
            ) from err
        print(f"wrote {args.out}", file=sys.stderr)
        return 0

    from ..audio.sd_output import SoundDeviceSink

    sink = SoundDeviceSink(_device(args.device), voice.sample_rate)
    speaker = Speaker(voice, sink, settings, cache)
    try:
        speaker.say(args.text, 1)
        speaker.wait_idle()
        while 1 not in sink.poll_finished():
            if speaker.last_error is not None:
                raise speaker.last_error
            time.sleep(0.02)
    finally:
        speaker.close()
        sink.close()
    return 0


def _routine_texts(ids: Sequence[str], all_routines: bool) -> dict[str, list[str]]:
    """Every fixed text of each routine, by routine id (all available with ``all_routines``)."""
    from ..dialogue import fixed_texts
    from ..routines import available_routines, get_routine

    if all_routines:
        routines, _problems = available_routines()  # broken user files are logged there
        return {rid: fixed_texts(routine) for rid, routine in sorted(routines.items())}
    return {rid: fixed_texts(get_routine(rid)) for rid in ids}


class ProgressBar:
    """A one-line progress bar on a terminal stream (plain lines when not a terminal)."""

    def __init__(self, stream: TextIO, label: str, width: int = 30) -> None:
        self.stream = stream
        self.label = label
        self.width = width
        self.tty = stream.isatty()
        self.started = time.monotonic()

    def __call__(self, done: int, total: int, text: str = "") -> None:
        """Show ``done`` of ``total``."""
        if not self.tty and done not in (total,) and done % 25:
            return
        filled = self.width * done // max(total, 1)
        bar = "#" * filled + "-" * (self.width - filled)
        line = f"{self.label} [{bar}] {done}/{total} {time.monotonic() - self.started:5.1f}s"
        self.stream.write(("\r" + line) if self.tty else line + "\n")
        if self.tty and done == total:
            self.stream.write("\n")
        self.stream.flush()


def prepare(
    settings: VoiceSettings,
    texts_by_routine: dict[str, list[str]],
    stream: TextIO,
    voice: Any = None,
) -> int:
    """Render ``texts_by_routine`` into the cache; the exit code (1 if it cannot be written)."""
    from ..tts.cache import PromptCache
    from ..tts.piper import PiperVoice
    from ..tts.prepare import prepare_prompts

    voice = voice if voice is not None else PiperVoice.from_settings(settings)
    cache = PromptCache.from_settings(settings)
    texts = [t for group in texts_by_routine.values() for t in group]
    label = ", ".join(texts_by_routine) or "prompts"
    result = prepare_prompts(voice, settings, cache, texts, ProgressBar(stream, label))
    if result.write_failed:
        print(
            f"voicecoach: cannot write the prompt cache in {cache.folder} (the warning above "
            "says why); make room or make it writable, or choose another folder with "
            "--cache-dir (sessions still run, with live synthesis)",
            file=stream,
        )
        return 1
    print(
        f"{result.total} prompts: {result.cached} already cached, {result.rendered} rendered "
        f"into {cache.folder}",
        file=stream,
    )
    if result.failed:
        print(
            f"voicecoach: {result.failed} could not be stored (the warning above names the "
            "first and why); the coach will synthesize those live. Remove what is in the "
            "way, or the whole cache folder, and run prepare again",
            file=stream,
        )
        return 1
    return 0


def run_prepare(
    args: argparse.Namespace,
    texts_for: Callable[[Sequence[str], bool], dict[str, list[str]]] = _routine_texts,
) -> int:
    """Render the fixed texts of the routines named in ``args``."""
    if not args.routines and not args.all:
        print("voicecoach prepare: name one or more routines, or use --all", file=sys.stderr)
        return 2
    return prepare(voice_settings(args), texts_for(args.routines, args.all), sys.stderr)
