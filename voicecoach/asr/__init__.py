"""Command recognition: engines behind the :class:`~voicecoach.asr.base.Recognizer` protocol.

- :mod:`voicecoach.asr.pocketsphinx`: the embedded default (its English model ships in
  the ``pocketsphinx`` wheel).
- :mod:`voicecoach.asr.vosk`: Vosk, used when an English Vosk model is installed.

Engines are imported only when loaded: importing this package costs nothing.
"""

from __future__ import annotations

import logging

from ..errors import EngineUnavailable, ModelError
from .base import AsrSettings, Recognizer, Vocabulary

log = logging.getLogger(__name__)

ENGINES = ("auto", "vosk", "pocketsphinx")


def choose_engine(settings: AsrSettings) -> str:
    """The engine ``settings`` asks for: ``auto`` means Vosk when a model is found."""
    if settings.engine not in ENGINES:
        raise EngineUnavailable(
            f"unknown speech engine {settings.engine!r}: use one of {', '.join(ENGINES)}"
        )
    if settings.engine != "auto":
        return settings.engine
    from .vosk import find_vosk_model

    try:
        found = find_vosk_model(settings.vosk_model)
    except ModelError as exc:
        # A model was named but is broken: say so, and still hear the user.
        log.warning("%s; using PocketSphinx", exc)
        return "pocketsphinx"
    return "vosk" if found is not None else "pocketsphinx"


def load_recognizer(
    settings: AsrSettings | None = None, vocabulary: Vocabulary | None = None
) -> Recognizer:
    """Load the engine ``settings`` chooses; the choice is logged.

    Raises :class:`~voicecoach.errors.ModelError` or
    :class:`~voicecoach.errors.EngineUnavailable` with a fix when it cannot load.
    """
    settings = settings or AsrSettings()
    engine = choose_engine(settings)
    recognizer: Recognizer
    if engine == "vosk":
        from .vosk import VoskRecognizer, find_vosk_model

        path = find_vosk_model(settings.vosk_model)
        if path is None:
            raise ModelError(
                "no English Vosk model is installed: run `voicecoach models fetch "
                "vosk-small-en`, set VOICECOACH_VOSK_MODEL, or use --engine pocketsphinx"
            )
        recognizer = VoskRecognizer(path, vocabulary, settings)
    else:
        from .pocketsphinx import PocketSphinxRecognizer

        recognizer = PocketSphinxRecognizer(vocabulary, settings)
    log.info("speech recognition: %s", recognizer.describe())
    return recognizer


__all__ = ["ENGINES", "choose_engine", "load_recognizer"]
