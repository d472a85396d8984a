"""Argument types that refuse values out of range at the command line, with the range."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def number_in(
    low: float, high: float = math.inf, unit: str = "", whole: bool = False
) -> Callable[[str], float]:
    """An argparse ``type``: a number from ``low`` to ``high`` (a whole one if ``whole``).

    Its errors say the range; argparse puts the option as typed in front of them.
    """
    unit = " " + unit if unit else ""
    span = f"{low:g}{unit} or more" if math.isinf(high) else f"from {low:g} to {high:g}{unit}"

    def parse(text: str) -> float:
        try:
            value = int(text) if whole else float(text)
        except ValueError:
            kind = "a whole number" if whole else "a number"
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind} ({span})") from None
        if math.isnan(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is out of range: give {span}")
        return value

    return parse


__all__ = ["number_in"]
