"""Settings of the live loop (frozen; the CLI builds them once)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LiveSettings:
    """How the live loop listens while the coach speaks, and how it copes with faults."""

    echo_cancelled: bool = False
    """True when the system cancels the speaker's echo in the microphone signal
    (PulseAudio/PipeWire ``module-echo-cancel``): every command may then barge in.
    False (default): while the coach is audible only stop, pause and it hurts act."""
    cancel_echo: bool = True
    """Subtract the coach's own voice from the microphone signal before recognition
    (:mod:`voicecoach.audio.aec`, with what the speaker played as the reference), so a
    command said over the coach is heard on its own. Not done when ``echo_cancelled``
    (the system already does it)."""
    echo_tail: float = 0.4
    """Seconds after the speaker's last sample during which the room still echoes it."""
    echo_slack: float = 1.0
    """A safety command counts as the coach's own words when its phrase occurs in what
    the coach was playing within this many seconds of the command (estimated)."""
    double_talk_factor: float = 2.0
    """While the coach is audible, a safety command is acted on only if the microphone
    heard this many times the power that the coach's echo plus room noise explain
    (see :mod:`.doubletalk`); 0 turns the check off."""
    words_per_second: float = 2.6
    """Speaking rate used to estimate when each word of a still-playing utterance plays."""
    fallback_interval: float = 15.0
    """At most one spoken fallback (after a recognizer or voice error) this often."""
    reconnect_interval: float = 2.0
    """Seconds between attempts to reopen a failed audio device."""
    mute_after: float = 10.0
    """Seconds of the coach's voice playing with nothing but digital silence from the
    microphone, after which it is said to be muted (:mod:`.mutewatch`); 0 = never. Not
    checked when ``echo_cancelled``."""
    mic_trial: float = 1.0
    """Seconds of audio a reopened microphone must deliver, without failing, before the
    coach says it hears again: one that opens and fails at once is retried in silence
    (logged), so the user hears one notice per loss, not one every retry."""

    speaker_trial: float = 1.0
    """Seconds a reopened speaker must play without failing for its next failure to
    count as a new loss: one that fails again sooner (a loose plug) is reopened in
    silence (logged), and "the speaker is back" is said once, not at every reopen."""

    def __post_init__(self) -> None:
        for name in (
            "speaker_trial",
            "echo_tail",
            "echo_slack",
            "fallback_interval",
            "reconnect_interval",
            "mic_trial",
        ):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        if self.words_per_second <= 0:
            raise ValueError("words_per_second must be positive")


__all__ = ["LiveSettings"]
