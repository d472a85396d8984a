"""PocketSphinx's decoder as the recognizer uses it: loading it from the wheel's English
model with a dictionary of just the command words, the closed grammar, and what its
alignment says (how much of the sound its words cover, where the last word ends, how
its path scores against a free sequence of phones).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..audio.chunk import ASR_RATE
from ..commands import Intent
from ..errors import EngineUnavailable, ModelError
from .base import Vocabulary

SILENCE_PROBABILITY = 0.3
"""PocketSphinx's ``silprob``, the grammar search's probability of silence between
words (its default 0.005). The search then calls more of a poor fit silence, which is
what the coverage rejection measures, and it no longer loses every path (no hypothesis
at all) when an utterance starts with a little silence (an espeak-ng "it hurts" cut
0.2-0.3 s before its speech gave none). Dev split, streamed: false accepts 35.5 ->
32.6 %, command taken for another 29.1 -> 27.7 %, recall 44.0 -> 42.3 %."""


BEAM = 1e-60
"""The grammar search's main beam (PocketSphinx's ``beam``; its default 1e-48): paths
scoring this far under the best are dropped. At the default the search could drop every
path that would have ended in a whole command and give no hypothesis at all: in the
demo, "it hurts" begun while the canceller's residue of the coach's "Eight." still
sounded came out as nothing at each of its three attempts in some runs (two of six),
and is read as "it hurts" with these beams. Measured with ``BEAM`` 1e-60 and
``WORD_BEAM`` 1e-40 against the defaults:

- ``scripts/bench_aec.py`` (seed 1), safety commands said over the coach, heard:
  sentences (600 s, 44) 93 -> 98 %; the hold's count instead of sentences (a throwaway
  stream builder, 1200 s, 40) 92 -> 95 %. Commands from the echo alone: 0 -> 1 and 1
  -> 1, each in the first second, before the canceller has converged.
- "it hurts", "stop" and "pause" (espeak-ng, two voices) begun 0.1-0.5 s into a count
  word's residue 24-30 dB down: 315 -> 344 of 540 heard, utterances with no hypothesis
  3 -> 0.
- The evaluation set's test split, streamed: recall 63.2 -> 63.6 %, command taken for
  another 3.6 -> 3.5 %, false accepts 10.2 -> 10.4 %; real-time factor 0.087 -> 0.095
  (both runs shared the machine with other work). Peak memory and CPU streaming a 300 s
  stream: the same (278 MB, 1.1 % of a core).
- Safety commands said alone (28, four voices), provisional results: 23 either way, at
  the median 19 / 26 ms before the words' end.
- The cost: over the coach the first result of a barge-in comes a little later in the
  tail (``bench_aec.py`` streams above, from the end of the words: 90th percentile
  214 -> 223 and 203 -> 222 ms, the longest 350 -> 414 and 225 -> 492 ms), and
  ``scripts/bench_live.py`` had one barge-in stopped 446 ms after the words (its
  longest had been 154-193 ms)."""

WORD_BEAM = 1e-40
"""The same for paths at a word's end (PocketSphinx's ``wbeam``; its default 7e-29)."""

FILLER_PREFIXES = ("<", "[", "+")
"""How the names of silence and noise (``<sil>``, ``[NOISE]``, ``+breath+``) begin in
the decoder's alignment: not words."""


def import_pocketsphinx() -> Any:
    """The ``pocketsphinx`` package, or a clear error where it is not installed."""
    try:
        import pocketsphinx
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise EngineUnavailable(
            "PocketSphinx is not installed: run `pip install pocketsphinx` "
            "(scripts/install.sh does it)"
        ) from exc
    return pocketsphinx


def model_dir(ps: Any) -> Path:
    """The English model folder inside the pocketsphinx wheel."""
    return Path(ps.get_model_path()) / "en-us"


def read_pronunciations(dictionary: Path, words: Iterable[str]) -> dict[str, list[str]]:
    """CMUdict lines for ``words`` (alternates such as ``go(2)`` included)."""
    want = set(words)
    found: dict[str, list[str]] = {}
    with dictionary.open(encoding="utf-8") as f:
        for line in f:
            head, _, phones = line.partition(" ")
            if head.split("(")[0] in want:
                found.setdefault(head.split("(")[0], []).append(f"{head} {phones.strip()}")
    return found


def whole_commands(vocabulary: Vocabulary) -> dict[str, Intent]:
    """The phrases that may end an utterance after a short silence.

    A phrase qualifies unless a longer phrase of another intent starts with its words:
    "go" (resume) does not, as the speaker may be saying "go back" (previous); "stop"
    does, as "stop the session" means the same.
    """
    out = {}
    for phrase, intent in vocabulary.items():
        words = phrase.split()
        if not any(
            other_intent != intent
            and len(o := other.split()) > len(words)
            and o[: len(words)] == words
            for other, other_intent in vocabulary.items()
        ):
            out[phrase] = intent
    return out


def jsgf(phrases: Iterable[str]) -> str:
    """A closed JSGF grammar: exactly one of ``phrases``."""
    body = " | ".join(sorted(phrases))
    return f"#JSGF V1.0;\ngrammar commands;\npublic <command> = {body};\n"


def load_decoder(ps: Any, acoustic: Path, lines: list[str], **search: Any) -> Any:
    """A decoder over the acoustic model ``acoustic`` with a dictionary of ``lines``
    (CMUdict lines) and the search settings ``search``."""
    fd, path = tempfile.mkstemp(prefix="voicecoach-", suffix=".dict")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        config = ps.Config(
            hmm=str(acoustic),
            dict=path,
            samprate=ASR_RATE,
            loglevel="FATAL",
            bestpath=False,
            **search,
        )
        return ps.Decoder(config)
    except (RuntimeError, ValueError) as exc:
        raise ModelError(f"PocketSphinx could not load its model in {acoustic}: {exc}") from exc
    finally:
        os.unlink(path)


def coverage(decoder: Any) -> float:
    """The share of the decoded frames that the decoder's (partial) result puts on
    words, not on silence or noise."""
    covered = sum(
        s.end_frame - s.start_frame + 1
        for s in decoder.seg()
        if not s.word.startswith(FILLER_PREFIXES)
    )
    return min(covered / max(decoder.n_frames(), 1), 1.0)


def words_end(decoder: Any) -> float | None:
    """Seconds from the start of the decoder's last utterance to the end of its last
    word, as its alignment puts it (None = no word)."""
    last = max(
        (s.end_frame for s in decoder.seg() or () if not s.word.startswith(FILLER_PREFIXES)),
        default=None,
    )
    return None if last is None else (last + 1) / int(decoder.config["frate"])


def phone_margin(decoder: Any, phones: Any) -> float:
    """How much better (per frame, in the decoder's log units) the grammar decoder's
    path scores than the phone decoder's best free sequence of phones over the same
    audio: near 0 or above when the command's words are what was said, well below
    when the grammar forced other sounds onto them."""
    hyp, free = decoder.hyp(), phones.hyp()
    if hyp is None or free is None or hyp.best_score <= 0 or free.best_score <= 0:
        return -math.inf
    log = decoder.logmath.log
    return float(log(hyp.best_score) - log(free.best_score)) / max(decoder.n_frames(), 1)
