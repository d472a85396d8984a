"""Audio devices: list them, and find one by (part of its) name or by index.

A name survives a USB card being renumbered after a replug, so settings and the
command line prefer names. Errors say what to do next (``voicecoach devices``,
``voicecoach demo``). sounddevice is imported here on demand, never at package import.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import DeviceMissing, EngineUnavailable

_LOGGER = logging.getLogger(__name__)

Kind = Literal["input", "output"]

NO_DEVICE_HINT = (
    "run `voicecoach devices` to see what is connected, or try `voicecoach demo`, "
    "which runs a whole session with no sound card"
)


@dataclass(frozen=True)
class DeviceInfo:
    """One PortAudio device as ``voicecoach devices`` shows it."""

    index: int
    name: str
    hostapi: str
    max_input_channels: int
    max_output_channels: int
    default_samplerate: float

    def channels(self, kind: Kind) -> int:
        """How many channels this device offers for ``kind``."""
        return self.max_input_channels if kind == "input" else self.max_output_channels

    def describe(self) -> str:
        """One line: index, name, host API, channels and rate."""
        return (
            f"{self.index:3d}  {self.name}  ({self.hostapi}; in {self.max_input_channels}, "
            f"out {self.max_output_channels}, {self.default_samplerate:.0f} Hz)"
        )


def import_sounddevice() -> Any:
    """The sounddevice module, or a clear error naming what to install."""
    try:
        import sounddevice as sd
    except (ImportError, OSError) as err:  # OSError: the PortAudio library is missing
        raise EngineUnavailable(
            "sounddevice/PortAudio is not available: run 'pip install sounddevice' and "
            "install the PortAudio library (apt install libportaudio2)"
        ) from err
    return sd


def refresh(sd: Any = None) -> None:
    """Make PortAudio enumerate devices again (after a USB card was plugged back in).

    PortAudio reads the device list once; re-initialising it invalidates every open
    stream, so callers close their streams first.
    """
    sd = sd or import_sounddevice()
    sd._terminate()
    sd._initialize()


def parse_device(value: str | int | None) -> int | str | None:
    """A command-line device: digits are an index, anything else a name (part)."""
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        if value.isdigit():
            return int(value)
    return value


def list_devices(sd: Any = None) -> list[DeviceInfo]:
    """Every device PortAudio knows, in index order."""
    sd = sd or import_sounddevice()
    hostapis = [h["name"] for h in sd.query_hostapis()]
    out = []
    for i, d in enumerate(sd.query_devices()):
        api = d.get("hostapi", 0)
        out.append(
            DeviceInfo(
                index=int(d.get("index", i)),
                name=str(d["name"]),
                hostapi=hostapis[api] if 0 <= api < len(hostapis) else "?",
                max_input_channels=int(d["max_input_channels"]),
                max_output_channels=int(d["max_output_channels"]),
                default_samplerate=float(d["default_samplerate"]),
            )
        )
    return out


def default_index(kind: Kind, sd: Any = None) -> int | None:
    """PortAudio's default device index for ``kind``, or None."""
    sd = sd or import_sounddevice()
    try:
        pair = sd.default.device
        index = int(pair[0] if kind == "input" else pair[1])
    except (TypeError, ValueError, IndexError):
        return None
    return index if index >= 0 else None


def choose_device(
    spec: int | str | None,
    kind: Kind,
    devices: list[DeviceInfo],
    default: int | None = None,
) -> DeviceInfo:
    """The device ``spec`` names among ``devices`` (pure: no PortAudio).

    ``spec`` is an index, a case-insensitive name substring (an exact name wins over
    a substring), or None for ``default`` (else the first device that has ``kind``
    channels). Raises :class:`AudioDeviceError` with what to do when there is none.
    """
    usable = [d for d in devices if d.channels(kind) > 0]
    what = "microphone" if kind == "input" else "speaker"
    if not usable:
        raise DeviceMissing(f"no {what} (audio {kind} device) found: {NO_DEVICE_HINT}", spec)
    if spec is None:
        for d in usable:
            if d.index == default:
                return d
        return usable[0]
    if isinstance(spec, int):
        for d in usable:
            if d.index == spec:
                return d
        raise _chosen_missing(
            f"no {what} with number {spec} (device numbers change when cards are plugged "
            "in; a name is safer)",
            spec,
            kind,
            usable,
        )
    wanted = spec.lower()
    exact = [d for d in usable if d.name.lower() == wanted]
    partial = [d for d in usable if wanted in d.name.lower()]
    found = exact or partial
    if not found:
        raise _chosen_missing(f"no {what} whose name contains {spec!r}", spec, kind, usable)
    if len(found) > 1:
        others = ", ".join(repr(d.name) for d in found[1:])
        _LOGGER.warning(
            "%d %ss match %r; using %r (also %s): give more of the name to choose another",
            len(found),
            what,
            spec,
            found[0].name,
            others,
        )
    return found[0]


def _chosen_missing(
    missing: str, spec: int | str, kind: Kind, usable: list[DeviceInfo]
) -> DeviceMissing:
    """The device chosen is not there, but these others of its kind are: name them, for
    a name or number that may be wrong (a USB card may also just be unplugged)."""
    names = tuple(d.name for d in usable)
    what = "microphones" if kind == "input" else "speakers"
    return DeviceMissing(
        f"{missing}; the {what} connected now: {', '.join(repr(n) for n in names)}. Plug "
        f"in the one chosen, or give --{kind}-device one of these names "
        "(see `voicecoach devices`)",
        spec,
        names,
    )


def find_device(spec: int | str | None, kind: Kind, sd: Any = None) -> DeviceInfo:
    """The connected device ``spec`` names (see :func:`choose_device`)."""
    sd = sd or import_sounddevice()
    return choose_device(spec, kind, list_devices(sd), default_index(kind, sd))


__all__ = [
    "NO_DEVICE_HINT",
    "DeviceInfo",
    "choose_device",
    "default_index",
    "find_device",
    "import_sounddevice",
    "list_devices",
    "parse_device",
    "refresh",
]
