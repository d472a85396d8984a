"""voicecoach: an offline, voice-only coach for therapeutic neck exercises."""

__version__ = "0.1.0"
