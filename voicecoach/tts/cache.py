"""Pre-rendered prompts on disk, so the coach never waits for synthesis of a fixed text.

An entry is keyed by a hash of the voice's identity (a digest of its files and its
speaking rate), the settings that change the rendered audio (volume, pause between
sentences) and the text. Each file starts with a header naming its key, its sample
format and a checksum of the audio; an entry whose header does not match, that is
truncated or whose checksum fails is never played, it is treated as missing and
rendered again.

The cache is an optimisation only: when its folder cannot be created or written (read
only, disk full) the coach speaks with live synthesis and the log says why, once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path

from .. import paths
from ..audio.chunk import AudioChunk
from .base import VoiceSettings

_LOGGER = logging.getLogger(__name__)

MAGIC = b"VCPROMPT1\n"
RENDER_VERSION = 2
"""Bump when the rendering pipeline changes audio, so older entries become misses."""
_MAX_HEADER = 4096


def prompt_key(voice_identity: str, settings: VoiceSettings, text: str) -> str:
    """The cache key of ``text`` rendered by a voice with these settings (hex digest)."""
    material = json.dumps(
        {
            "render": RENDER_VERSION,
            "voice": voice_identity,
            "sentence_pause": settings.sentence_pause,
            "volume": settings.volume,
            "text": text,
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


def default_cache_dir() -> Path:
    """``prompts/`` in the XDG cache directory."""
    return paths.cache_dir() / "prompts"


class PromptCache:
    """Rendered audio for ``(voice, settings, text)``, verified on every read."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_cache_dir()
        self._warned = False

    @classmethod
    def from_settings(cls, settings: VoiceSettings) -> PromptCache:
        """The cache ``settings`` name (``settings.cache_dir`` or the default)."""
        return cls(settings.cache_dir)

    def path_for(self, key: str) -> Path:
        """Where the entry ``key`` lives (two-level fan-out keeps folders small)."""
        return self.folder / key[:2] / f"{key}.pcm"

    def get(self, key: str) -> AudioChunk | None:
        """The verified audio of entry ``key``, or None if missing, foreign or corrupt."""
        path = self.path_for(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as err:
            self._warn("cannot read the prompt cache in %s (%s); %s", err)
            return None
        chunk = self._decode(key, data)
        if chunk is None:
            _LOGGER.info("ignoring invalid cached prompt %s; it will be rendered again", path)
        return chunk

    def contains(self, key: str) -> bool:
        """True if a valid entry for ``key`` exists (reads and verifies it)."""
        return self.get(key) is not None

    def put(self, key: str, chunk: AudioChunk, text: str = "") -> bool:
        """Store ``chunk`` as entry ``key``; False (and a logged warning) if it failed.

        The file is written to a temporary name and renamed, so a reader never sees a
        half-written entry and a full disk leaves no truncated one behind.
        """
        payload = chunk.audio
        header = json.dumps(
            {
                "key": key,
                "rate": chunk.rate,
                "width": chunk.width,
                "channels": chunk.channels,
                "bytes": len(payload),
                "blake2b": hashlib.blake2b(payload, digest_size=16).hexdigest(),
                "text": text[:200],
            }
        ).encode("utf-8")
        path = self.path_for(key)
        tmp_name: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            with os.fdopen(fd, "wb") as f:
                f.write(MAGIC + header + b"\n" + payload)
            os.replace(tmp_name, path)
            return True
        except OSError as err:
            if tmp_name is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp_name)
            self._warn("cannot write the prompt cache in %s (%s); %s", err)
            return False

    def _warn(self, message: str, err: OSError) -> None:
        # Once per cache: a broken cache folder fails the same way for every prompt.
        level = logging.DEBUG if self._warned else logging.WARNING
        _LOGGER.log(level, message, self.folder, err, "speaking with live synthesis")
        self._warned = True

    @staticmethod
    def _decode(key: str, data: bytes) -> AudioChunk | None:
        if not data.startswith(MAGIC):
            return None
        end = data.find(b"\n", len(MAGIC), len(MAGIC) + _MAX_HEADER)
        if end < 0:
            return None
        try:
            header = json.loads(data[len(MAGIC) : end])
            payload = data[end + 1 :]
            if header["key"] != key or header["bytes"] != len(payload):
                return None
            digest = hashlib.blake2b(payload, digest_size=16).hexdigest()
            if digest != header["blake2b"]:
                return None
            return AudioChunk(
                payload, int(header["rate"]), int(header["width"]), int(header["channels"])
            )
        except (ValueError, KeyError, TypeError):
            return None


__all__ = ["MAGIC", "PromptCache", "default_cache_dir", "prompt_key"]
