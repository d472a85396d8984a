"""Audio values and devices. The heavy backend (:mod:`.sounddevice`) is imported on demand."""

from .chunk import AudioChunk

__all__ = ["AudioChunk"]
