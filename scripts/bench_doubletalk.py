#!/usr/bin/env python3
"""Benchmark the double-talk checks: is a safety command said over the coach taken for
the user, and is the coach's echo alone never taken for one?

While the coach speaks, a safety command the recognizer delivers is acted on only if
the microphone heard more than the coach's echo (``voicecoach.runtime.doubletalk``).
Two checks answer that: the level check on the microphone as it is
(:class:`DoubleTalk`) and the check on what the echo canceller left
(:class:`ResidualCheck`), asked first where the canceller works.

The stream is ``scripts/bench_aec.py``'s: the coach's real lines through the demo's
room, with users in espeak-ng voices saying safety commands over every other line.
Printed, per check (a table, and JSON with --json; "product" is the two as the live
loop asks them: the residual check where it can tell, else the level check):

- barge-ins taken for the user: over each user's words, as the live loop asks it of
  a recognized command;
- echo windows taken for the user: windows of 0.8 s (a short command's span), every
  0.2 s, where the coach is heard and no user speaks within 0.5 s, after the first
  10 s. Each one is a moment where a command the recognizer made of the echo alone
  would be acted on; the other guards (the coach's own words, the recognizer's
  rejection) come on top.

``--user-db`` makes the users louder or quieter than in the demo's room (0 dB: as
loud as the echo's peaks, about); ``--echo-delay`` delays the echo past what the
speaker reported (the canceller's filter spans 0.4 s: beyond, its check stands
aside); ``--distort`` drives the speaker into soft clipping (tanh; 2 and 3 are
harsh), which no linear filter cancels; ``--volume-step`` turns the speaker up or down
by so many dB halfway through; ``--delay-step`` makes the echo so many seconds later
(negative: earlier) from halfway through, an output whose latency jumps while the
device reports the old one; ``--jitter`` makes the echo's delay wander by up to so
many seconds either way, a new delay every 2 s.

Each question is asked as the live loop asks it: over the span the recognizer
reports (for a user, from the start of the words to 0.15 s after their last loud
sample, the voice detector's hangover), 0.2 s after the span's end (the endpoint's
wait for quiet). Usage: ``python scripts/bench_doubletalk.py [--seconds 240]
[--seed 1] [--stream s.npz] [--user-db 0] [--echo-delay 0] [--distort 0]
[--volume-step 0] [--delay-step 0] [--jitter 0] [--json out.json]``. A 600 s stream
takes about three minutes; ``--stream`` keeps it, so later runs skip the voice.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from bench_aec import BLOCK, load_or_build  # noqa: E402

from tests.played_power import PlayedPower  # noqa: E402
from voicecoach.audio.aec import EchoCanceller, ReferenceBuffer  # noqa: E402
from voicecoach.audio.chunk import ASR_RATE, AudioChunk  # noqa: E402
from voicecoach.runtime.demo import DemoSettings, room_response  # noqa: E402
from voicecoach.runtime.doubletalk import DoubleTalk, ResidualCheck  # noqa: E402

SPAN = 0.8
"""Seconds of an echo window (a short command's utterance)."""
STEP = 0.2
HANGOVER = 0.15
"""Seconds from a user's last loud sample to the end of the span the recognizer
reports (the voice detector's hangover)."""
ASK_AFTER = 0.2
"""Seconds after a span's end at which the live loop asks about it (the endpoint's
wait for quiet, the decoding)."""
CLEAR = 0.5
"""Seconds around a user's words that no echo window may touch."""


def microphone(
    stream: dict,
    user_db: float,
    echo_delay: float,
    distort: float,
    volume_step: float,
    delay_step: float = 0.0,
    jitter: float = 0.0,
) -> np.ndarray:
    """The microphone signal with the users' level and the echo's delay changed, the
    speaker driven into soft clipping (``distort``: the drive, 0 = none), the
    speaker's volume turned by ``volume_step`` dB halfway through, and the echo
    ``delay_step`` seconds later from halfway through, and its delay wandering by up
    to ``jitter`` seconds either way, a new delay every 2 s (seeded)."""
    echo = stream["echo"]
    if distort > 0:
        ref = stream["reference"]
        peak = float(np.max(np.abs(ref)))
        driven = np.tanh(distort * ref / peak) * peak / np.tanh(distort)
        echo = np.convolve(driven, room_response(DemoSettings()))[: len(echo)]
    if volume_step:
        echo = echo.copy()
        echo[len(echo) // 2 :] *= 10 ** (volume_step / 20)
    shift = int(round(echo_delay * ASR_RATE))
    if shift:
        echo = np.concatenate([np.zeros(shift), echo[:-shift]])
    step = int(round(delay_step * ASR_RATE))
    half = len(echo) // 2
    if step > 0:
        echo = np.concatenate([echo[:half], np.zeros(step), echo[half:-step]])
    elif step < 0:  # earlier: a stretch of the echo is never heard
        echo = np.concatenate([echo[:half], echo[half - step :], np.zeros(-step)])
    if jitter > 0:
        rng = np.random.default_rng(7)
        hop = 2 * ASR_RATE
        offsets = rng.integers(
            -int(jitter * ASR_RATE), int(jitter * ASR_RATE) + 1, len(echo) // hop + 1
        )
        idx = np.arange(len(echo)) - np.repeat(offsets, hop)[: len(echo)]
        echo = echo[np.clip(idx, 0, len(echo) - 1)]
    mic = stream["user"] * 10 ** (user_db / 20) + echo + stream["noise"]
    return np.clip(mic, -1.0, 1.0)


def run(
    stream: dict,
    user_db: float = 0.0,
    echo_delay: float = 0.0,
    distort: float = 0.0,
    volume_step: float = 0.0,
    delay_step: float = 0.0,
    jitter: float = 0.0,
) -> dict:
    """Both checks over every barge-in and every echo window of the stream."""
    mic = microphone(stream, user_db, echo_delay, distort, volume_step, delay_step, jitter)
    seconds = len(mic) / ASR_RATE
    ref = ReferenceBuffer(keep=seconds + 1)
    ref.add(0.0, stream["reference"])
    canceller = EchoCanceller(ref)
    canceller.log = type(canceller.log)(keep=seconds + 1, block=canceller.settings.block)
    tap = PlayedPower(stream["reference"])
    level = DoubleTalk(tap, keep=seconds + 1)  # type: ignore[arg-type]
    residual = ResidualCheck(canceller.log)
    product = DoubleTalk(tap, keep=seconds + 1)  # type: ignore[arg-type]
    product.residual = residual  # as the live loop has it: the residual check first

    # Questions in time order, each asked once the stream has reached ASK_AFTER past
    # its end (as the live loop asks when the recognizer delivers).
    questions: list[tuple[float, float, str, int]] = []
    for k, b in enumerate(stream["barge"]):
        questions.append((b["start"], b["words_end"] + HANGOVER, "barge", k))
    busy = [(b["start"] - CLEAR, b["end"] + CLEAR) for b in stream["barge"]]
    t = 10.0
    played = stream["reference"] ** 2
    while t + SPAN < seconds - 1:
        lo, hi = int(t * ASR_RATE), int((t + SPAN) * ASR_RATE)
        quiet = all(e <= t or s >= t + SPAN for s, e in busy)
        if quiet and float(np.mean(played[lo:hi])) > 1e-5:
            questions.append((t, t + SPAN, "echo", 0))
        t += STEP
    questions.sort(key=lambda q: q[1])

    answers: dict[str, list[tuple[bool | None, ...]]] = {"barge": [], "echo": []}
    scores: dict[str, list[float | None]] = {"barge": [], "echo": []}
    states = []
    q = 0
    for i in range(0, len(mic) - BLOCK + 1, BLOCK):
        chunk = AudioChunk.from_float(mic[i : i + BLOCK], ASR_RATE, i / ASR_RATE)
        level.feed(chunk)
        product.feed(chunk)
        canceller.process(chunk)
        now = chunk.end - 0.05  # the canceller runs this far behind (lead, lookahead)
        while q < len(questions) and questions[q][1] + ASK_AFTER <= now:
            start, end, kind, _ = questions[q]
            answers[kind].append(
                (
                    level.user_present(start, end),
                    residual.user_present(start, end),
                    product.user_present(start, end),
                )
            )
            scores[kind].append(residual.score(start, end))
            if kind == "barge":
                states.append(residual.state(start))
            q += 1

    def rate(kind: str, which: str) -> float:
        column = ("level", "residual", "product").index(which)
        got = answers[kind]
        return sum(bool(a[column]) for a in got) / max(1, len(got))

    known = [s for s in states if s is not None]
    report: dict = {
        "seconds": round(seconds),
        "user_db": user_db,
        "echo_delay": echo_delay,
        "distort": distort,
        "volume_step": volume_step,
        "delay_step": delay_step,
        "jitter": jitter,
        "barge_ins": len(answers["barge"]),
        "echo_windows": len(answers["echo"]),
        "residual_answers": sum(a[1] is not None for a in answers["barge"] + answers["echo"]),
        "residual_barge_ins_unsure": sum(a[1] is None for a in answers["barge"]),
        "residual_barge_ins_refused": sum(a[1] is False for a in answers["barge"]),
        "residual_share_median": round(float(np.median([s.share for s in known])), 4)
        if known
        else None,
        "echo_explained_median": round(float(np.median([s.explained for s in known])), 3)
        if known
        else None,
    }
    for kind in ("barge", "echo"):
        got = [s for s in scores[kind] if s is not None]
        report[f"residual_score_{kind}"] = (
            {p: round(float(np.percentile(got, p)), 2) for p in (0, 1, 10, 50, 90, 99, 100)}
            if got
            else None
        )
    for which in ("level", "residual", "product"):
        report[which] = {
            "barge_ins_taken": round(rate("barge", which), 3),
            "echo_windows_taken": round(rate("echo", which), 4),
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=240.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stream", type=Path, help="keep the stream in this .npz file")
    parser.add_argument("--user-db", type=float, default=0.0)
    parser.add_argument("--echo-delay", type=float, default=0.0)
    parser.add_argument("--distort", type=float, default=0.0, help="speaker drive (tanh)")
    parser.add_argument("--volume-step", type=float, default=0.0, help="dB, halfway")
    parser.add_argument(
        "--delay-step", type=float, default=0.0, help="s more echo delay from halfway"
    )
    parser.add_argument("--jitter", type=float, default=0.0, help="s, the echo delay wandering")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    stream = load_or_build(args.stream, args.seconds, args.seed)
    report = run(
        stream,
        args.user_db,
        args.echo_delay,
        args.distort,
        args.volume_step,
        args.delay_step,
        args.jitter,
    )
    print(
        f"{report['seconds']} s, users {args.user_db:+g} dB, echo {args.echo_delay:g} s late: "
        f"{report['barge_ins']} barge-ins, {report['echo_windows']} echo windows; "
        f"canceller leaves {report['residual_share_median']} of the echo, "
        f"its estimate explains {report['echo_explained_median']} of the microphone"
    )
    print(f"{'check':10} {'barge-ins taken':>16} {'echo windows taken':>19}")
    for which in ("level", "residual", "product"):
        r = report[which]
        print(f"{which:10} {r['barge_ins_taken']:>16.1%} {r['echo_windows_taken']:>19.2%}")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report))


if __name__ == "__main__":
    main()
