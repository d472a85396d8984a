"""Small routines built in code, so core tests do not depend on the built-in files."""

from voicecoach.routines.model import Advance, Breathing, Exercise, Routine


def tiny_routine(advance: Advance = Advance.WAIT) -> Routine:
    """Three short exercises: cues only; a hold with relax; breathing and an after text."""
    return Routine(
        id="tiny",
        title="Tiny test routine",
        intro="A short test routine.",
        preparation=("a rug", "a small pillow"),
        safety="Stop if anything hurts.",
        exercises=(
            Exercise(
                id="turn",
                title="Head turns",
                position="Lie on your back.",
                steps=("Turn your head slowly.",),
                repetitions=2,
                cues=("Turn to the left.", "Back to the middle."),
                tempo=2.0,
                advance=advance,
            ),
            Exercise(
                id="press",
                title="Press and hold",
                position="Sit upright.",
                steps=("Press gently.",),
                repetitions=2,
                hold_seconds=3,
                relax_seconds=2,
                breathing=Breathing(inhale=2, exhale=3, when="before"),
                progression="A little further this time.",
                advance=advance,
            ),
            Exercise(
                id="tilt",
                title="Tilt",
                position="Sit upright.",
                steps=("Tilt your head.",),
                repetitions=1,
                hold_seconds=2,
                after="Stroke the side of your neck gently.",
                advance=advance,
            ),
        ),
    )
