"""Render every fixed text of a routine ahead of a session (``voicecoach prepare``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .base import Voice, VoiceSettings
from .cache import PromptCache, prompt_key
from .render import join_chunks, render_sentences

_LOGGER = logging.getLogger(__name__)

Progress = Callable[[int, int, str], None]
"""Called after each text as ``progress(done, total, text)``."""


@dataclass(frozen=True)
class PrepareResult:
    """What :func:`prepare_prompts` did."""

    total: int
    """Distinct texts asked for."""
    cached: int
    """Texts that already had a valid cache entry."""
    rendered: int
    """Texts synthesized and stored now."""
    write_failed: bool = False
    """True if the cache could not be written at all (the rest was not rendered)."""
    failed: int = 0
    """Texts rendered whose entry could not be stored (spoken live in a session)."""


GIVE_UP = 3
"""Failed writes in a row after which the cache is taken as unwritable (a read-only or
full disk fails the same way for every entry, from its first write or part way)."""


def prepare_prompts(
    voice: Voice,
    settings: VoiceSettings,
    cache: PromptCache,
    texts: Iterable[str],
    progress: Progress | None = None,
) -> PrepareResult:
    """Make sure every text in ``texts`` has a valid cache entry for this voice.

    Texts with a valid entry are skipped (so a second run only reads and verifies);
    missing, corrupt or foreign entries are rendered again. An entry that cannot be
    stored (a damaged one in the way, say) is counted and the rest go on; if the cache
    folder is not a folder, or :data:`GIVE_UP` writes in a row fail (a read-only disk,
    or one that fills up), the cache is taken as unwritable and it stops.
    """
    unique = list(dict.fromkeys(t for t in texts if t.strip()))
    cached = rendered = failed = in_a_row = 0
    for done, text in enumerate(unique, start=1):
        key = prompt_key(voice.identity, settings, text)
        if cache.contains(key):
            cached += 1
        else:
            audio = join_chunks(list(render_sentences(voice, settings, text)))
            if cache.put(key, audio, text):
                rendered += 1
                in_a_row = 0
            else:
                failed += 1
                in_a_row += 1
                folder_unusable = not cache.folder.is_dir()  # a file in its place, say
                if folder_unusable or in_a_row >= GIVE_UP:
                    return PrepareResult(len(unique), cached, rendered, True, failed)
        if progress is not None:
            progress(done, len(unique), text)
    _LOGGER.info("prompts: %d cached, %d rendered, %d not stored", cached, rendered, failed)
    return PrepareResult(len(unique), cached, rendered, failed=failed)


__all__ = ["PrepareResult", "Progress", "prepare_prompts"]
