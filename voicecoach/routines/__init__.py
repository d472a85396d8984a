"""Routines: what a routine is (:mod:`.model`) and how files are read (:mod:`.loader`)."""

from .loader import (
    Problem,
    available_routines,
    builtin_routines,
    get_routine,
    load_routine_file,
    validate_file,
    validate_files,
)
from .model import Advance, Breathing, Exercise, Routine

__all__ = [
    "Advance",
    "Breathing",
    "Exercise",
    "Problem",
    "Routine",
    "available_routines",
    "builtin_routines",
    "get_routine",
    "load_routine_file",
    "validate_file",
    "validate_files",
]
