"""Why PocketSphinx's reading is not simply taken as a command.

A closed grammar forces every sound onto some command, so a reading must pass checks
(:class:`.PocketSphinxRecognizer` applies them; their measured history is in
``docs/recognition.md``):

- the command's words must cover enough of the decoded frames (:func:`least_coverage`):
  a command the decoder could fit only by calling most of the sound silence or noise is
  rejected;
- a second pass decodes the same audio as a free sequence of phones, and the command's
  path must score nearly as well per frame (:func:`least_phone_margin`): "yeast" read
  as "repeat" or "left" as "next" fit the grammar, but a free phone sequence fits them
  far better;
- an utterance that is not a command, but whose loud stretch quieter sound surrounds
  (:func:`loud_span`: talk in the next room, noise), has that stretch decoded again
  alone and decided the same way.

The safety commands (stop, pause, it hurts) get looser checks throughout: a missed one
costs far more than a false one, which only stops the coach and asks.
"""

from __future__ import annotations

import numpy as np

from ..commands import SAFETY_INTENTS, Intent
from .verify import block_power

DEFAULT_THRESHOLD = 0.5
"""Least share of decoded frames the command's words must cover (tuned on the dev split,
streamed, with the noise suppressor: 0.4 gave about 5 points more recall and 7 more false
accepts)."""

SAFETY_THRESHOLD = 0.35
"""The same for the safety commands (stop, pause, it hurts), at most: a missed one costs
far more than a false one, and said over the coach's voice they cover less of their
utterance (the echo's residue): at 0.5 the demo's "pause" over an announcement was lost.
It was 0.4 until the grammar search's silence probability went up
(``SILENCE_PROBABILITY``), which lowers every coverage: at 0.4 safety commands said over
the coach (``scripts/bench_aec.py --seconds 600``, echo canceller on) were heard 80 % of
the time against 93 % before; at 0.35, 91 %, with no safety command from the echo
alone; at 0.3, 88 % and one from the echo. The cost on the test split, streamed: false
accepts 25.1 -> 27.5 %, most of them stop, pause or hurt."""

PHRASE_RAISE = {
    "done": 0.3,
    "go on": 0.2,
    "resume": 0.2,
    "go": 0.1,
    "help": 0.1,
    "slower": 0.1,
    "what can i say": 0.1,
}
"""How much more coverage than the threshold these phrases need. They are where the
closed grammar puts sounds that are not commands: on the dev split, streamed, "done"
came out for 79 things that were not "done" (noise, single words, "ouch") against 7
that were, "go on" 102 against 21, "help" 13 against 1. Tuned phrase by phrase on the
dev split (each raise kept only if recall minus half the false accepts and wrong
commands went up; "help", which found 0.4, is held at 0.1: asking for help must work,
and a false one only lists the commands). Dev split, streamed: recall 48.3 -> 45.7 %,
command taken for another 20.0 -> 14.9 %, false accepts 28.8 -> 20.5 %, hurt/stop
taken for next 2 -> 1; resume (go on, resume) loses most, 59 -> 37 % on the test split.
Not for the safety commands, which keep ``SAFETY_THRESHOLD``."""


def least_coverage(text: str, intent: Intent | None, threshold: float) -> float:
    """The coverage the words ``text`` (of ``intent``) need to be acted on."""
    if intent in SAFETY_INTENTS:
        return min(threshold, SAFETY_THRESHOLD)
    return threshold + PHRASE_RAISE.get(text, 0.0)


PHONE_LOOP_WEIGHT = 2.0
"""Language weight of the second pass's phone bigram (PocketSphinx's default is 6.5).
1.0 and 4.0 separated commands from other sounds about as well (dev split, whole
files, the Flite and Festival voices: recall 35 / 35 / 33 % with at most 10 % false
accepts at weights 1, 2 and 4, each at its best margin and coverage)."""

PHONE_MARGIN = -13.0
"""Least per-frame score of a command's path against the free phone sequence
(:meth:`PocketSphinxRecognizer._phone_margin`) for the command to be acted on, after
the coverage check. Tuned on the dev split, streamed (with ``SAFETY_PHONE_MARGIN``):
recall 41.8 -> 38.3 %, command taken for another 15.0 -> 10.3 %, false accepts 28.8 ->
18.8 %, hurt/stop taken for next 1 -> 0. On the held-out test split: 47.4 -> 43.6 %,
14.6 -> 10.6 %, 31.2 -> 20.4 %; most of the recall lost is espeak-ng's. The Flite and
Festival voices (built from recordings of real talkers): recall 56.1 -> 55.0 %, false
accepts 39.2 -> 23.5 %; Joe (Piper) kept all its recall, 61.9 %, and false accepts went
47.1 -> 28.4 %. Whole files (``voicecoach recognize``), test split: 48.6 / 19.4 / 38.4 %
-> 43.0 / 10.6 / 20.0 %. -16 kept more recall and rejected less."""

SAFETY_PHONE_MARGIN = -25.0
"""The same for the safety commands, far looser: a missed "it hurts" costs more than a
false one, which stops the coach and asks. The loosest margin that still keeps every
"it hurts" the decoder read right without the check (dev split, streamed: 40.2 % of
them either way; 37.5 % at -18). Safety commands heard 50.4 % (50.7 % with no check,
48.2 % at -18, 39.6 % at ``PHONE_MARGIN``); safety commands taken from what must be
rejected 9.8 % (10.8 %, 7.4 %, 4.2 %). It still rejects the grossest misfits ("precious"
read as "that hurts" scores 33 per frame below the free phones)."""


def least_phone_margin(intent: Intent | None) -> float:
    """The phone-loop margin a command of ``intent`` needs to be acted on."""
    return SAFETY_PHONE_MARGIN if intent in SAFETY_INTENTS else PHONE_MARGIN


LOUD_DROP = 10.0
"""dB under the utterance's loud level (the 95th percentile of its 20 ms levels) down to
which a frame counts as part of its loud stretch (:func:`loud_span`). Dev split,
streamed, recall / command taken for another / false accepts at 6 / 10 / 14 dB:
68.3 / 3.3 / 10.9, 67.6 / 3.1 / 10.2, 66.9 / 2.8 / 10.4 % (within a point of each
other, no more than retraining the classifier moves them; 10 kept)."""

LOUD_PAD = 0.2
"""Seconds kept on each side of the loud stretch: a word's weak first and last sounds.
Dev split, streamed, recall / command taken for another / false accepts at 0.12 / 0.2 /
0.3 s: 67.4 / 2.8 / 10.9, 67.6 / 3.1 / 10.2, 66.7 / 2.8 / 10.1 %."""

LOUD_MARGIN = 8.0
"""dB by which the sound around the loud stretch (its median 20 ms level) must be
quieter than the stretch (its median) for the stretch to be looked at again alone:
someone talking well below the user (the next room, a television just turned on), not
the user's own sentence, whose words are all at about one level. Dev split, streamed,
recall / command taken for another / false accepts at 6 / 8 / 10 dB: 67.8 / 3.2 / 10.4,
67.6 / 3.1 / 10.2, 67.3 / 3.0 / 10.4 % (66.3 / 2.6 / 10.4 % without the second look)."""

LOUD_FLOOR = 20.0
"""dB over one 16-bit step (-70 dBFS) the sound around the loud stretch must reach: in
near digital silence there is nothing around the words to cut away. (A quiet room at
-60 dBFS is above it: there the second look decodes the words again with less of the
room around them, at the cost of a decode.)"""


def loud_span(samples: np.ndarray) -> tuple[int, int] | None:
    """The loud stretch of an utterance's audio (16 kHz) as sample offsets, padded by
    :data:`LOUD_PAD`, when quieter sound surrounds it (:data:`LOUD_MARGIN`,
    :data:`LOUD_FLOOR`), else None."""
    block = 320  # 20 ms
    levels = 10 * np.log10(block_power(samples, block) + 1.0)
    n = len(levels)
    if n == 0:
        return None
    loud = np.flatnonzero(levels >= np.percentile(levels, 95) - LOUD_DROP)
    pad = round(LOUD_PAD / 0.02)
    first, last = max(0, int(loud[0]) - pad), min(n, int(loud[-1]) + 1 + pad)
    around = np.concatenate([levels[:first], levels[last:]])
    if len(around) < 10:  # less than 0.2 s around it: nothing to cut
        return None
    inside = levels[int(loud[0]) : int(loud[-1]) + 1]
    quieter = float(np.median(around))
    if quieter < LOUD_FLOOR or quieter > float(np.median(inside)) - LOUD_MARGIN:
        return None
    return first * block, last * block
