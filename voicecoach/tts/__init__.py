"""The coach's voice: Piper synthesis, the prompt cache, earcons and the speaker.

Light to import; the Piper backend (:mod:`.piper`) loads onnxruntime on demand.
"""

from .base import FakeVoice, Voice, VoiceSettings
from .cache import PromptCache
from .speaker import Speaker

__all__ = ["FakeVoice", "PromptCache", "Speaker", "Voice", "VoiceSettings"]
