#!/usr/bin/env python3
"""Real human voices from Debian's packages, labelled for the recognizer's benchmark.

The evaluation set (scripts/make_eval_set.py) speaks the commands with synthesizers;
its only real people are a LibriVox reader and a few short CMU recordings. This set is
recordings of real people that Debian ships for other programs, each labelled from its
package's own transcript or file names:

- asterisk-core-sounds-en-wav: 566 telephone prompts by one professional voice (Allison
  Smith), with the transcript of asterisk-core-sounds-en: "pause" and "no" among them,
  single words (digits, letters, months) and sentences ("Press 5 to repeat the current
  message"). CC-BY-SA 3.0.
- klettres-data: letters and short words by two teachers (US and British English),
  "no" among them. GPL-2+.
- ktuberling-data: 72 object names (ball, nose, umbrella, ...). GPL-2+.
- tuxpaint-stamps-default: animal names, and British English letters and digits. GPL-2.
- alsa-utils: "Front Left", "Rear Right", ... (the speaker test). GPL-2.

So it measures, on real voices, mostly what must be rejected: single words and
sentences. Real people saying the commands are only "pause" once and "no" three times;
no package here has more of them (see docs/evaluation-set.md). Split by talker: dev is
the telephone voice and the US teacher, test the others.

The packages are fetched with ``apt-get download`` (about 270 MB, kept in --cache) and
unpacked there; nothing is installed. Each file becomes 16 kHz mono WAV under --out
with a manifest.jsonl as the evaluation set's, so scripts/bench_asr.py runs on it:

    python scripts/make_real_set.py --out eval/real
    python scripts/bench_asr.py eval/real --split all

With ``--training`` it builds instead real people's sounds to train the command check
by speech embedding on (``scripts/train_verifier.py --sets ... eval/real-train``), all
of them things to reject and none from a package or talker of the set above:

- hedgewars-data: a game's voice packs, 15 actors' short calls ("Hello", "Incoming",
  "Leave me alone", grunts, laughs, coughs), some in Spanish, Polish and Russian. The
  calls of pain ("Ouch", "Ow", "Oof", a moan) and those with a command word in them
  ("Yes sir", "Nooo") are left out: a user may say them.
- asterisk-core-sounds-fr/it/ru: the telephone prompts in French, Italian and Russian,
  by three other professional voices (the Spanish ones are the English set's talker,
  so not taken). Prompts with a word that sounds like a command ("pause", "non",
  "no", "stop") are left out.

The set's every file is in the ``dev`` split (the trainer takes only that split):

    python scripts/make_real_set.py --training --out eval/real-train
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import logging
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import evalset_lib as lib  # noqa: E402

from voicecoach.commands import all_phrases, intent_of_phrase, normalize  # noqa: E402

_LOGGER = logging.getLogger("make_real_set")

PACKAGES = (
    "asterisk-core-sounds-en-wav",
    "asterisk-core-sounds-en",
    "klettres-data",
    "ktuberling-data",
    "tuxpaint-stamps-default",
    "alsa-utils",
)

TRAINING_PACKAGES = (
    "hedgewars-data",
    "asterisk-core-sounds-fr-wav",
    "asterisk-core-sounds-fr",
    "asterisk-core-sounds-it-wav",
    "asterisk-core-sounds-it",
    "asterisk-core-sounds-ru-wav",
    "asterisk-core-sounds-ru",
)
"""The packages of ``--training``'s set; none is in :data:`PACKAGES`."""

ASTERISK = "usr/share/asterisk/sounds/en_US_f_Allison"
ASTERISK_TEXT = "usr/share/doc/asterisk-core-sounds-en/core-sounds-en.txt.gz"
KLETTRES = "usr/share/klettres"
KTUBERLING = "usr/share/ktuberling/sounds/en"
TUXPAINT = "usr/share/tuxpaint/stamps"
ALSA = "usr/share/sounds/alsa"

DEV_SPEAKERS = ("asterisk:allison", "klettres:en")
"""The talkers of the dev split; the rest are test."""


@dataclass(frozen=True)
class Recording:
    """One recording in an unpacked package, and what it says."""

    path: Path
    text: str
    """What is said, from the package's transcript or the file's name; a text wholly in
    brackets describes a sound that is not speech, "(... silence)" silence."""
    speaker: str
    language: str = "en"
    """Not English: the text is only a description, never a command."""


def label(text: str, language: str = "en") -> tuple[str, str | None, str]:
    """(category, expected intent or None, phrase) for a recording's ``text``.

    A command phrase said alone is a command; one inside other words is "embedded"; a
    single other word is "word", more words "speech"; "[a tone]" is "noise" and
    "(1 second of silence)" "silence". Notes in brackets after the words ("slash [/]")
    are dropped."""
    stripped = text.strip()
    if language != "en" and not re.fullmatch(r"[\[(].*[\])]", stripped):
        return ("word" if " " not in stripped else "speech"), None, f"{language}: {stripped}"
    if re.fullmatch(r"\(.*silence.*\)", stripped, flags=re.IGNORECASE):
        return "silence", None, stripped.strip("()")
    if re.fullmatch(r"\[.*\]", stripped):
        return "noise", None, stripped.strip("[]")
    words = normalize(re.sub(r"\[.*?\]|\(.*?\)", " ", stripped))
    if not words:
        return "noise", None, stripped
    intent = intent_of_phrase(words)
    if intent is not None:
        return "command", intent.value, words
    padded = f" {words} "
    if any(f" {phrase} " in padded for phrase in all_phrases()):
        return "embedded", None, words
    return ("word" if " " not in words else "speech"), None, words


def fetch(package: str, cache: Path) -> Path:
    """The package's .deb in ``cache``, downloaded with apt-get if it is not there."""
    cache.mkdir(parents=True, exist_ok=True)
    found = sorted(cache.glob(f"{package}_*.deb"))
    if found:
        return found[-1]
    _LOGGER.info("apt-get download %s", package)
    try:
        proc = subprocess.run(
            ["apt-get", "download", package], cwd=cache, capture_output=True, text=True
        )
    except FileNotFoundError:
        raise SystemExit(
            f"apt-get is not here to download Debian's {package}: put its .deb in {cache} "
            "(from a Debian machine: `apt-get download " + package + "`)"
        ) from None
    found = sorted(cache.glob(f"{package}_*.deb"))
    if proc.returncode != 0 or not found:
        raise SystemExit(
            f"could not download Debian's {package}: {proc.stderr.strip()}\n"
            "Run `sudo apt-get update` and try again, or put its .deb in "
            f"{cache} (from a machine that has it)."
        )
    return found[-1]


def unpack(deb: Path, into: Path) -> Path:
    """``deb``'s files under ``into``/<package> (unpacked once)."""
    dest = into / deb.name.split("_")[0]
    if not (dest / ".unpacked").exists():
        shutil.rmtree(dest, ignore_errors=True)
        dest.mkdir(parents=True)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(dest)], check=True)
        (dest / ".unpacked").touch()
    return dest


def asterisk(root: Path, transcript_root: Path) -> Iterator[Recording]:
    """The telephone prompts, each with its line of the transcript ("name: text")."""
    with gzip.open(transcript_root / ASTERISK_TEXT, "rt", encoding="utf-8") as f:
        for line in f:
            if line.startswith(";") or ":" not in line:
                continue
            name, text = line.split(":", 1)
            path = root / ASTERISK / f"{name.strip()}.wav"
            if path.is_file() and text.strip():
                yield Recording(path, text.strip(), "asterisk:allison")


def klettres(root: Path) -> Iterator[Recording]:
    """Letters (alpha/) and short words (syllab/), US and British English."""
    for locale in ("en", "en_GB"):
        for kind in ("alpha", "syllab"):
            for path in sorted((root / KLETTRES / locale / kind).glob("*.ogg")):
                yield Recording(path, path.stem.lower(), f"klettres:{locale}")


def ktuberling(root: Path) -> Iterator[Recording]:
    """Object names; a file's name is its theme and the object ("pizzeria_olive")."""
    for path in sorted((root / KTUBERLING).glob("*.ogg")):
        yield Recording(path, path.stem.split("_")[-1], "ktuberling:en")


def tuxpaint(root: Path) -> Iterator[Recording]:
    """Animal names (``*_desc.ogg``), and British English letters and digits."""
    for path in sorted((root / TUXPAINT).rglob("*_desc.ogg")):
        yield Recording(path, path.stem[: -len("_desc")].replace("_", " "), "tuxpaint:desc")
    for path in sorted((root / TUXPAINT / "symbols").rglob("*_en_GB.ogg")):
        yield Recording(path, path.stem.split("_")[0], "tuxpaint:en_GB")


def alsa(root: Path) -> Iterator[Recording]:
    """The speaker test's channel names ("Front Left"); Noise.wav is not speech."""
    for path in sorted((root / ALSA).glob("*.wav")):
        if path.stem != "Noise":
            yield Recording(path, path.stem.replace("_", " "), "alsa:alsa")


HEDGEWARS = "usr/share/games/hedgewars/Data/Sounds/voices"

HEDGEWARS_LEFT_OUT = re.compile(r"ouch|ow\d*|ooff\d*|poisonmoan|yessir|nooo")
"""The calls a user may say: pain ("Ouch", "Ow1", "Ooff2", a moan) and command words."""

ASTERISK_OTHER = {
    "fr": ("fr_CA_f_June", "asterisk-fr:june"),
    "it": ("it_IT_m_Carlo", "asterisk-it:carlo"),
    "ru": ("ru_RU_f_IvrvoiceRU", "asterisk-ru:ivrvoice"),
}
"""The other languages' prompts: (folder, speaker) by language."""

LIKE_A_COMMAND = re.compile(r"\b(pause|pausa|non|no|stop|стоп|пауза|ok|okay)\b", re.IGNORECASE)
"""Words of another language that sound like a command: their prompts are left out."""


def hedgewars(root: Path) -> Iterator[Recording]:
    """The voice packs' calls, each named by its file ("Leavemealone"), less the ones
    a user may say (:data:`HEDGEWARS_LEFT_OUT`)."""
    for path in sorted((root / HEDGEWARS).glob("*/*.ogg")):
        name = path.stem.lower()
        if not HEDGEWARS_LEFT_OUT.fullmatch(name):
            yield Recording(path, name, f"hedgewars:{path.parent.name.lower()}")


def asterisk_other(root: Path, transcript_root: Path, language: str) -> Iterator[Recording]:
    """A language's telephone prompts, less those with a word like a command
    (:data:`LIKE_A_COMMAND`)."""
    folder, speaker = ASTERISK_OTHER[language]
    text_file = f"usr/share/doc/asterisk-core-sounds-{language}/core-sounds-{language}.txt.gz"
    with gzip.open(transcript_root / text_file, "rt", encoding="utf-8") as f:
        for line in f:
            if line.startswith(";") or ":" not in line:
                continue
            name, text = (part.strip() for part in line.split(":", 1))
            path = root / "usr/share/asterisk/sounds" / folder / f"{name}.wav"
            if path.is_file() and text and not LIKE_A_COMMAND.search(text):
                yield Recording(path, text, speaker, language)


def read_any(path: Path) -> np.ndarray:
    """A recording as float mono at the set's rate."""
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    return lib.resample_to_rate(data.mean(axis=1), int(rate))


def build(out: Path, cache: Path, training: bool = False) -> Counter:
    """Fetch, unpack, convert and label; write ``out``/manifest.jsonl. Returns the
    count of files per (split, category). A previous build in ``out`` is replaced
    whole; a folder that holds anything else is left alone. ``training``: the
    training set of things to reject instead (see the module doc), all in ``dev``."""
    if out.exists() and any(out.iterdir()):
        if not (out / "manifest.jsonl").exists():
            raise SystemExit(f"{out} exists and is not an evaluation set; choose another --out")
        shutil.rmtree(out)
    packages = TRAINING_PACKAGES if training else PACKAGES
    roots = {p: unpack(fetch(p, cache), cache / "unpacked") for p in packages}
    if training:
        recordings = [*hedgewars(roots["hedgewars-data"])]
        for language in ASTERISK_OTHER:
            package = f"asterisk-core-sounds-{language}"
            recordings += asterisk_other(roots[f"{package}-wav"], roots[package], language)
    else:
        recordings = [
            *asterisk(roots["asterisk-core-sounds-en-wav"], roots["asterisk-core-sounds-en"]),
            *klettres(roots["klettres-data"]),
            *ktuberling(roots["ktuberling-data"]),
            *tuxpaint(roots["tuxpaint-stamps-default"]),
            *alsa(roots["alsa-utils"]),
        ]
    licences = out / "licences"
    licences.mkdir(parents=True, exist_ok=True)
    for package, root in roots.items():
        copyright = root / "usr/share/doc" / package / "copyright"
        if copyright.is_file():
            shutil.copyfile(copyright, licences / f"{package}.copyright")
    seen: set[str] = set()
    counts: Counter = Counter()
    lines = []
    for rec in recordings:
        x = read_any(rec.path)
        digest = hashlib.sha1(np.round(x * 32767).astype("<i2").tobytes()).hexdigest()
        if digest in seen or not len(x):  # Tux Paint has one recording per letter form
            continue
        seen.add(digest)
        category, expected, phrase = label(rec.text, rec.language)
        if training and category in ("command", "embedded"):
            continue  # a user may say it: not a thing to reject
        split = "dev" if training or rec.speaker in DEV_SPEAKERS else "test"
        name = re.sub(r"[^a-z0-9]+", "-", phrase.lower()).strip("-")[:40] or "sound"
        file = f"{split}/{category}/{len(lines):04d}_{name}.wav"
        seconds = lib.write_wav(out / file, np.clip(x, -1.0, 1.0))
        entry = lib.Entry(file, expected, phrase, category, rec.speaker, split, "none", None,
                          round(seconds, 4))  # fmt: skip
        lines.append(entry.to_json())
        counts[(split, category)] += 1
    (out / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--out", type=Path, help="the set's folder (eval/real; with --training eval/real-train)"
    )
    p.add_argument(
        "--training",
        action="store_true",
        help="build the training set of real sounds to reject instead (see the module doc)",
    )
    p.add_argument(
        "--cache",
        type=Path,
        default=Path.home() / ".cache/voicecoach/debian",
        help="where the packages are downloaded and unpacked",
    )
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = args.out or Path("eval/real-train" if args.training else "eval/real")
    counts = build(out, args.cache, args.training)
    for (split, category), n in sorted(counts.items()):
        print(f"{split:5s} {category:9s} {n:5d}")
    print(f"{sum(counts.values())} files in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
