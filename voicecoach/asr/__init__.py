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
    """The engine ``settings`` asks for: ``auto`` means Vosk when a model is found, or
    named (``$VOICECOACH_VOSK_MODEL``) but not usable: loading it then fails and falls
    back to PocketSphinx with the problem kept (:func:`load_recognizer`)."""
    if settings.engine not in ENGINES:
        raise EngineUnavailable(
            f"unknown speech engine {settings.engine!r}: use one of {', '.join(ENGINES)}"
        )
    if settings.engine != "auto":
        return settings.engine
    from .vosk import find_vosk_model

    try:
        found = find_vosk_model(settings.vosk_model)
    except ModelError:
        # A model was named but is not there or broken: loading it fails again, and
        # :func:`load_recognizer` says so, keeps it for ``voicecoach check`` and still
        # hears the user, with PocketSphinx.
        return "vosk"
    return "vosk" if found is not None else "pocketsphinx"


def load_recognizer(
    settings: AsrSettings | None = None, vocabulary: Vocabulary | None = None
) -> Recognizer:
    """Load the engine ``settings`` chooses; the choice is logged. With ``auto``, a
    Vosk model that Vosk cannot load (or a Vosk that cannot load at all) falls back to
    PocketSphinx with a warning, kept as the recognizer's ``engine_problem``.

    Raises :class:`~voicecoach.errors.ModelError` or
    :class:`~voicecoach.errors.EngineUnavailable` with a fix when it cannot load.
    """
    settings = settings or AsrSettings()
    engine = choose_engine(settings)
    recognizer: Recognizer
    problem = None
    if engine == "vosk":
        try:
            recognizer = _load_vosk(settings, vocabulary)
        except (EngineUnavailable, ModelError) as exc:
            if settings.engine != "auto":
                raise
            # A Vosk model is installed but Vosk cannot use it: say so, and still hear
            # the user (``voicecoach check`` reports it as a problem).
            log.warning("%s; using PocketSphinx", exc.message)
            problem = exc.message
            engine = "pocketsphinx"
    if engine != "vosk":
        from .pocketsphinx import PocketSphinxRecognizer

        sphinx = PocketSphinxRecognizer(vocabulary, settings)
        sphinx.engine_problem = problem
        recognizer = sphinx
    log.info("speech recognition: %s", recognizer.describe())
    return recognizer


def _load_vosk(settings: AsrSettings, vocabulary: Vocabulary | None) -> Recognizer:
    from .vosk import VoskRecognizer, find_vosk_model

    path = find_vosk_model(settings.vosk_model)
    if path is None:
        raise ModelError(
            "no English Vosk model is installed: run `voicecoach models fetch "
            "vosk-small-en`, set VOICECOACH_VOSK_MODEL, or use --engine pocketsphinx"
        )
    return VoskRecognizer(path, vocabulary, settings)


__all__ = ["ENGINES", "choose_engine", "load_recognizer"]
