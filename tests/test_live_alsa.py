"""End to end through real PortAudio streams: ALSA's file plugin as microphone and speaker.

A child process (PortAudio reads the ALSA configuration once) runs ``voicecoach``'s
real Microphone, SoundDeviceSink, recognizer, coach and LiveRunner on the real clock.
The microphone is a named pipe fed at real-time pace with espeak-ng saying "yes",
"next" and "it hurts" when a person would, and again if the coach did not react; the
speaker writes to a pipe drained at real-time pace into a file. The coach's voice is a
test voice that plays each text as a tone, with distinct pitches for the lines the test
looks for in the recording.
No part of sounddevice is mocked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.alsa_file_device import AlsaDuplexDevice, make_duplex_device, run_python
from voicecoach import script
from voicecoach.audio.chunk import AudioChunk
from voicecoach.session import SessionLog

# Pitches of the lines looked for in the played audio; every other line is 300 Hz.
MARKERS = {
    "announce2": 1100.0,  # "Exercise two of three..." (after "next")
    "hold": 1300.0,  # "Hold."
    "pain_stop": 1500.0,  # script.PAIN_STOP (after "it hurts")
    "release": 1700.0,  # "And release.": must never play, the hold was cut
}

_CHILD = r"""
import dataclasses, json, sys, threading, time
from pathlib import Path
import numpy as np
from tests.alsa_file_device import AlsaDuplexDevice, PacedPipes

dev = AlsaDuplexDevice(Path(@CONFIG@), Path(@OUTPUT@), Path(@MIC@), 22050, 48000, 2)
pipes = PacedPipes(dev, 960, Path(@RECORDING@))  # before sounddevice is imported

from tests.routine_fixtures import tiny_routine
from tests.test_live_alsa import ToneVoice
from voicecoach import script
from voicecoach.asr import load_recognizer
from voicecoach.asr.base import AsrSettings
from voicecoach.audio.aec import ReferenceBuffer
from voicecoach.audio.chunk import AudioChunk, resample
from voicecoach.audio.sd_input import Microphone, MicSettings
from voicecoach.dialogue import Coach, State
from voicecoach.runtime.demo import speak_espeak
from voicecoach.runtime.loop import LiveSession
from voicecoach.runtime.realtime import LiveRunner, SoundDeviceOutput
from voicecoach.session import SessionLog, SessionRecorder
from voicecoach.tts.speaker import Speaker

MARK = {"Hold.": @hold@, script.PAIN_STOP: @pain_stop@, script.RELEASE: @release@}

def pitch(text):
    return @announce2@ if text.startswith("Exercise two") else MARK.get(text, 300.0)

recognizer = load_recognizer(AsrSettings(engine="pocketsphinx"))
output = SoundDeviceOutput("vcfile", 22050)
sink = output.open()
mic = Microphone(MicSettings(device="vcmic"))
mic.open()
speaker = Speaker(ToneVoice(pitch), sink)
db = SessionLog(Path(@LOG@))
sid = db.start("tiny")
# A 6 s hold, so that a second "it hurts" fits in it (tiny_routine's is 3 s).
routine = tiny_routine()
press = dataclasses.replace(routine.exercises[1], hold_seconds=6)
coach = Coach(dataclasses.replace(routine, exercises=(routine.exercises[0], press,
                                                      *routine.exercises[2:])))
said = []
session = LiveSession(coach, recognizer, speaker, time.monotonic, SessionRecorder(db, sid),
                      transcript=lambda e: said.append(e.to_json()))
stop = threading.Event()
user = {}
spoken = []  # [word, start, end] of each thing said, in microphone time
errors = []
words = {w: resample(speak_espeak(w), 16000, 48000) for w in ("yes", "next", "it hurts")}

def speak(word):
    audio = np.round(np.clip(words[word] * (0.5 / np.max(np.abs(words[word]))), -1, 1) * 32767)
    end = pipes.say(audio.astype(np.int16))
    user[word] = end
    spoken.append([word, end - len(audio) / 48000, end])

def quiet_for(seconds):
    return (coach.waiting_for_user and not session.sink.is_playing()
            and time.monotonic() > session.sink.last_audio_end + seconds)

def person():
    # A failure here would otherwise vanish with the daemon thread, leaving a silent mic.
    try:
        act_like_a_person()
    except BaseException:
        import traceback
        errors.append(traceback.format_exc())
    stop.set()

def act_like_a_person():
    # Like a person: answer when asked and the coach is quiet; if it asks again (it did
    # not understand), say it again.
    deadline = time.monotonic() + 50
    step = 0
    spoke_at = -1e9
    while time.monotonic() < deadline and not stop.is_set():
        time.sleep(0.05)
        again = time.monotonic() > spoke_at + 2.5
        asked = coach.state in (State.ASK_CONSENT, State.ASK_PAIN_FREE)  # the two questions
        if step == 0 and asked and quiet_for(0.5) and again:
            speak("yes"); spoke_at = time.monotonic()
        elif step == 0 and "yes" in user and not asked and coach.state is not State.INTRO:
            step = 1  # not before "yes": the coach is in INTRO before it asks
        elif step == 1 and coach.state is State.WAIT_NEXT and quiet_for(0.5) and again:
            speak("next"); spoke_at = time.monotonic()
        elif step == 1 and "next" in user and coach.state is not State.WAIT_NEXT:
            step = 2  # not on exercise one's ANNOUNCE, before "next"
        elif step == 2:
            holds = [e for e in said if e["kind"] == "said" and e["text"] == "Hold."]
            if holds and session.session_time() > holds[0]["t"] + 0.6:
                speak("it hurts"); step = 3; hurt_at = time.monotonic()
        elif step == 3 and time.monotonic() > hurt_at + 2.7 and not stopped():
            # Still counting 2 s after the words: say it again, as a person would. The
            # recognizer misses some commands (issue 3's benchmark); before the noise
            # floor, this "it hurts" in the pipe's digital silence was missed at 4 of
            # 20 offsets in its frames, and this test failed in 2 of 7 full-suite runs.
            speak("it hurts"); step = 4; hurt_at = time.monotonic()
        elif step >= 3 and time.monotonic() > hurt_at + 6:
            break

def stopped():
    return any(e["kind"] == "said" and e["text"] == script.PAIN_STOP for e in said)

pipes.start_clock()
t0 = time.monotonic()
threading.Thread(target=person, daemon=True).start()
status = LiveRunner(session, mic, stop, output).run()
mic.close(); speaker.close(); session.sink.close(); pipes.close()
# The echo canceller's reference: what the loop collected from the output callback.
span = time.monotonic() - t0
ref = session.tap.played.read(ReferenceBuffer.index(t0), int(span * 16_000))
blocks = ref[: len(ref) // 160 * 160].reshape(-1, 160)
print(json.dumps({"status": status, "session_id": sid, "user": user, "spoken": spoken,
                  "transcript": said,
                  "errors": errors, "span": span,
                  "reference_voiced": float(np.mean(np.sqrt(np.mean(blocks**2, axis=1)) > 0.01)
                                            * len(blocks) / 100),
                  "start_offset": session.origin - t0}))
"""


class ToneVoice:
    """A voice for the child scripts: each line a tone of its length in characters, at
    the pitch ``pitch(text)`` gives, so the played audio shows which line played."""

    sample_rate = 22050
    identity = "tone"

    def __init__(self, pitch: Callable[[str], float]) -> None:
        self.pitch = pitch

    def synthesize(self, text: str) -> Iterator[AudioChunk]:
        n = int(min(1.5, max(0.25, 0.025 * len(text))) * 22050)
        t = np.arange(n) / 22050
        yield AudioChunk.from_float(0.4 * np.sin(2 * np.pi * self.pitch(text) * t), 22050)


def tone_times(audio: np.ndarray, hz: float, rate: int = 22_050) -> list[float]:
    """Start times (s) of 50 ms frames dominated by a tone at ``hz``."""
    n = int(0.05 * rate)
    out = []
    for i in range(0, len(audio) - n, n):
        frame = audio[i : i + n]
        if np.sqrt(np.mean(frame**2)) < 0.05:
            continue
        spectrum = np.abs(np.fft.rfft(frame * np.hanning(n)))
        if abs(np.argmax(spectrum) * rate / n - hz) < 30:
            out.append(i / rate)
    return out


def child_code(template: str, dev: AlsaDuplexDevice, tmp_path: Path) -> str:
    """A child script with the devices' files and the speaker's recording filled in."""
    for name, value in {
        "CONFIG": dev.config,
        "OUTPUT": dev.output,
        "MIC": dev.mic,
        "RECORDING": tmp_path / "played.raw",
    }.items():
        template = template.replace(f"@{name}@", repr(str(value)))
    return template


@pytest.mark.slow
def test_yes_next_and_it_hurts_through_real_alsa_streams(tmp_path: Path) -> None:
    dev = make_duplex_device(tmp_path, paced=True)
    code = child_code(_CHILD, dev, tmp_path).replace("@LOG@", repr(str(tmp_path / "log.sqlite3")))
    for name, hz in MARKERS.items():
        code = code.replace(f"@{name}@", repr(hz))
    result = run_python(dev, code, timeout=90)  # type: ignore[arg-type]

    assert result["errors"] == [], result["errors"][0]
    heard = [e["command"] for e in result["transcript"] if e["kind"] == "heard"]
    assert heard == ["yes", "yes", "next", "hurt"], json.dumps(result["transcript"], indent=0)

    with SessionLog(tmp_path / "log.sqlite3") as db:
        summary = db.sessions()[0]
        commands = [c[1] for c in db.commands(result["session_id"])]
    assert commands == ["yes", "yes", "next", "hurt"]
    assert summary.pain_reports == 1
    assert summary.exercises[0] == ("turn", "done")
    assert summary.status == "interrupted"

    played = np.frombuffer((tmp_path / "played.raw").read_bytes(), dtype="<i2") / 32768.0
    # The loop collected what the output callback wrote as the echo canceller's
    # reference: as much of it sounds as in the speaker's recording.
    blocks = played[: len(played) // 220 * 220].reshape(-1, 220)
    voiced = float(np.sum(np.sqrt(np.mean(blocks**2, axis=1)) > 0.01)) / 100
    assert voiced > 5.0
    assert abs(result["reference_voiced"] - voiced) < 0.1 * voiced  # measured 17.4 s both
    announce = tone_times(played, MARKERS["announce2"])
    hold = tone_times(played, MARKERS["hold"])
    pain = tone_times(played, MARKERS["pain_stop"])
    assert announce and hold and pain, "the reactions are in the played audio"
    assert announce[0] < hold[0] < pain[0]
    assert tone_times(played, MARKERS["release"]) == []  # the hold was cut short
    # The coach's pain reply answers the person's "it hurts": the recognizer heard it
    # where one of their attempts was said in the microphone stream (the clocks differ
    # by start_offset), and the reply was said after it was heard. (How soon after is
    # for the benchmarks, not a timed assertion here.)
    rows = result["transcript"]
    [hurt] = [n for n, e in enumerate(rows) if e["kind"] == "heard" and e["command"] == "hurt"]
    offset = result["start_offset"]
    attempts = [(s - offset, e - offset) for w, s, e in result["spoken"] if w == "it hurts"]
    assert any(s < rows[hurt]["end"] < e + 0.5 for s, e in attempts), (rows[hurt], attempts)
    reply = [n for n, e in enumerate(rows) if e["kind"] == "said" and e["text"] == script.PAIN_STOP]
    assert reply and reply[0] > hurt


_SPEAKER_FAULT_CHILD = r"""
import json, threading, time
from pathlib import Path
import numpy as np
from tests.alsa_file_device import AlsaDuplexDevice, PacedPipes

dev = AlsaDuplexDevice(Path(@CONFIG@), Path(@OUTPUT@), Path(@MIC@), 22050, 48000, 2)
pipes = PacedPipes(dev, 960, Path(@RECORDING@))  # before sounddevice is imported

from tests.routine_fixtures import tiny_routine
from tests.test_live_alsa import ToneVoice, tone_times
from voicecoach import script
from voicecoach.asr.base import FakeRecognizer
from voicecoach.audio.chunk import AudioChunk
from voicecoach.audio.sd_input import Microphone, MicSettings
from voicecoach.dialogue import Coach
from voicecoach.runtime.loop import LiveSession
from voicecoach.runtime.realtime import LiveRunner, SoundDeviceOutput
from voicecoach.tts.speaker import Speaker

def pitch(text):
    return @question@ if text.startswith("Before we start") else 300.0

output = SoundDeviceOutput("vcfile", 22050)
sink = output.open()
mic = Microphone(MicSettings(device="vcmic"))
mic.open()
speaker = Speaker(ToneVoice(pitch), sink)
said = []
coach = Coach(tiny_routine())
session = LiveSession(coach, FakeRecognizer(), speaker, time.monotonic,
                      transcript=lambda e: said.append(e.to_json()))
stop = threading.Event()
fed = []
feed = session.feed
session.feed = lambda chunk: (fed.append(time.monotonic()), feed(chunk))
failed = []

def speaker_fails():
    # The output device fails (its stream stops by itself) while the coach says its
    # second line; then wait for the question, which follows the introduction.
    deadline = time.monotonic() + 30
    while len([e for e in said if e["kind"] == "said"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)
    sink._stream.abort()
    failed.append(time.monotonic())
    while time.monotonic() < deadline and not any(
        e["kind"] == "said" and e["text"] == script.CONSENT_QUESTION for e in said
    ):
        time.sleep(0.05)
    while time.monotonic() < deadline and not tone_times(recorded(), @question@):
        time.sleep(0.1)  # until the question is out of the rig's speaker pipe
    stop.set()

def recorded():
    return np.frombuffer(Path(@RECORDING@).read_bytes(), dtype="<i2") / 32768.0

pipes.start_clock()
threading.Thread(target=speaker_fails, daemon=True).start()
status = LiveRunner(session, mic, stop, output).run()
heard_after = sum(t > failed[0] + 1.0 for t in fed)
mic.close(); speaker.close(); session.sink.close(); pipes.close()
print(json.dumps({"status": status, "heard_after": heard_after,
                  "said": [e["text"] for e in said if e["kind"] == "said"]}))
"""


@pytest.mark.slow
def test_a_failed_speaker_reopened_while_the_microphone_runs_plays_again(tmp_path: Path) -> None:
    """The speaker's stream stops by itself (a device error) while the microphone runs:
    it is reopened, which re-reads the device list, and the coach is heard again.
    The rescan freed the microphone's open stream; closing it after the new speaker's
    was opened in its memory closed that one too, and the coach fell silent for good
    (and waited for ever for its line to play), while the sink still looked active."""
    dev = make_duplex_device(tmp_path, paced=True)
    code = child_code(_SPEAKER_FAULT_CHILD, dev, tmp_path)
    code = code.replace("@question@", repr(MARKERS["announce2"]))
    result = run_python(dev, code, timeout=90)  # type: ignore[arg-type]

    assert script.SPEAKER_BACK in result["said"]
    assert script.CONSENT_QUESTION in result["said"]  # the coach was not left waiting
    assert result["heard_after"] > 0  # and the microphone still listens
    played = np.frombuffer((tmp_path / "played.raw").read_bytes(), dtype="<i2") / 32768.0
    # The question, said only after the fault, came out of the reopened speaker.
    assert tone_times(played, MARKERS["announce2"])


_SPEAKER_UNPLUGGED_CHILD = r"""
import json, os, threading, time
from pathlib import Path
from tests.alsa_file_device import AlsaDuplexDevice, PacedPipes

config = Path(@CONFIG@)
dev = AlsaDuplexDevice(config, Path(@OUTPUT@), Path(@MIC@), 22050, 48000, 2)
pipes = PacedPipes(dev, 960, Path(@RECORDING@))  # before sounddevice is imported

from tests.routine_fixtures import tiny_routine
from voicecoach import script
from voicecoach.asr.base import FakeRecognizer
from voicecoach.audio.sd_input import Microphone, MicSettings
from voicecoach.dialogue import Coach
from voicecoach.runtime.loop import LiveSession
from voicecoach.runtime.realtime import LiveRunner, SoundDeviceOutput
from voicecoach.tts.base import FakeVoice
from voicecoach.tts.speaker import Speaker

output = SoundDeviceOutput("vcfile", 22050)
sink = output.open()
mic = Microphone(MicSettings(device="vcmic"))
mic.open()
speaker = Speaker(FakeVoice(amplitude=0.2), sink)
said = []
session = LiveSession(Coach(tiny_routine()), FakeRecognizer(), speaker, time.monotonic,
                      transcript=lambda e: said.append(e.to_json()))
stop = threading.Event()
fed = []
feed = session.feed
session.feed = lambda chunk: (fed.append(time.monotonic()), feed(chunk))
away = []
original = config.read_text()

def rewrite(text):
    # A new file (a new inode): ALSA reads its configuration again when PortAudio
    # lists the devices again.
    config.with_suffix(".new").write_text(text)
    os.replace(config.with_suffix(".new"), config)

def unplug_the_speaker():
    deadline = time.monotonic() + 30
    while len([e for e in said if e["kind"] == "said"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    rewrite(original.replace("vcfile", "vcgone"))  # gone from the device list
    sink._stream.abort()  # and its stream stops
    away.append(time.monotonic())
    time.sleep(5.0)  # two tries to reopen it
    away.append(time.monotonic())
    rewrite(original)  # plugged in again
    while time.monotonic() < deadline and not any(e["text"] == script.SPEAKER_BACK for e in said):
        time.sleep(0.05)
    stop.set()

pipes.start_clock()
threading.Thread(target=unplug_the_speaker, daemon=True).start()
status = LiveRunner(session, mic, stop, output).run()
mic.close(); speaker.close(); session.sink.close(); pipes.close()
print(json.dumps({"status": status,
                  "heard_while_away": sum(away[0] + 1.0 < t < away[1] for t in fed),
                  "said": [e["text"] for e in said if e["kind"] == "said"]}))
"""


@pytest.mark.slow
def test_while_the_speaker_is_unplugged_the_microphone_still_listens(tmp_path: Path) -> None:
    """The speaker is unplugged (gone from the device list, its stream stopped): each
    try to reopen it re-reads the device list, and the microphone keeps listening
    meanwhile, so "it hurts" or "stop" is still heard. The rescan freed the
    microphone's open stream under it: the microphone was taken for lost (the coach
    said so into the dead speaker) and was not tried again until the speaker was back."""
    dev = make_duplex_device(tmp_path, paced=True)
    code = child_code(_SPEAKER_UNPLUGGED_CHILD, dev, tmp_path)
    result = run_python(dev, code, timeout=90)  # type: ignore[arg-type]

    assert script.SPEAKER_BACK in result["said"]
    assert script.MIC_LOST not in result["said"]
    assert result["heard_while_away"] > 0


# Pitches of the lines the standby test looks for in the played audio.
STANDBY_MARKERS = {
    "declined": 1100.0,  # script.DECLINED: the first session's goodbye
    "standby": 1300.0,  # script.STANDBY
    "question": 1500.0,  # script.STANDBY_QUESTION
    "consent": 1700.0,  # script.CONSENT_QUESTION, asked by each session
}

# run_live's loop of sessions (run_with_standby, as `voicecoach run --standby` builds
# it) with the real Microphone, SoundDeviceSink, PocketSphinx and session log; a tone
# voice. The person declines the first session ("no"), asks for another in standby
# ("ready"), answers the question ("yes"), and stops once the second session has asked
# its first question. Before "ready" the process's CPU time in standby is measured
# (the pacing threads left out).
_STANDBY_CHILD = r"""
import json, os, threading, time
from pathlib import Path
import numpy as np
from tests.alsa_file_device import AlsaDuplexDevice, PacedPipes

dev = AlsaDuplexDevice(Path(@CONFIG@), Path(@OUTPUT@), Path(@MIC@), 22050, 48000, 2)
pipes = PacedPipes(dev, 960, Path(@RECORDING@))  # before sounddevice is imported

from tests.routine_fixtures import tiny_routine
from tests.test_live_alsa import ToneVoice
from voicecoach import script
from voicecoach.asr import load_recognizer
from voicecoach.asr.base import AsrSettings
from voicecoach.audio.chunk import AudioChunk, resample
from voicecoach.audio.sd_input import Microphone, MicSettings
from voicecoach.dialogue import Coach, State
from voicecoach.runtime.demo import speak_espeak
from voicecoach.runtime.loop import LiveSession
from voicecoach.runtime.realtime import LiveRunner, SoundDeviceOutput, run_with_standby
from voicecoach.session import start_recording
from voicecoach.standby import Standby, StandbyState
from voicecoach.tts.speaker import Speaker

MARK = {script.DECLINED: @declined@, script.STANDBY: @standby@,
        script.STANDBY_QUESTION: @question@, script.CONSENT_QUESTION: @consent@}

def pitch(text):
    # The speaker hands the voice a line's first clause or sentence on its own.
    return next((hz for line, hz in MARK.items() if line.startswith(text)), 300.0)

recognizer = load_recognizer(AsrSettings(engine="pocketsphinx"))
output = SoundDeviceOutput("vcfile", 22050)
sink = output.open()
mic = Microphone(MicSettings(device="vcmic"))
mic.open()
speaker = Speaker(ToneVoice(pitch), sink)
routine = tiny_routine()
said = []
sessions = []

def new_session():
    recorder, _ = start_recording(Path(@LOG@), routine.id, [ex.id for ex in routine.exercises])
    sessions.append(LiveSession(Coach(routine), recognizer, speaker, time.monotonic, recorder,
                                transcript=lambda e: said.append(e.to_json())))
    return sessions[-1]

def new_standby(after_pain):
    sessions.append(LiveSession(Standby(after_pain=after_pain), recognizer, speaker, time.monotonic,
                                transcript=lambda e: said.append(e.to_json())))
    return sessions[-1]

stop = threading.Event()
runner = LiveRunner(new_session(), mic, stop, output)
spoken = []
errors = []
cpu = {}
words = {w: resample(speak_espeak(w), 16000, 48000) for w in ("no", "ready", "yes")}

def speak(word):
    audio = np.round(np.clip(words[word] * (0.5 / np.max(np.abs(words[word]))), -1, 1) * 32767)
    pipes.say(audio.astype(np.int16))
    spoken.append(word)

def quiet(dialogue, seconds=0.5):
    sink = runner.session.sink
    return (dialogue.waiting_for_user and not sink.is_playing()
            and time.monotonic() > sink.last_audio_end + seconds)

def own_cpu():
    # The process's CPU seconds without the two pacing threads (the rig, not the coach).
    ticks = 0
    for task in os.listdir("/proc/self/task"):
        if int(task) in pipes.thread_ids:
            continue
        try:
            fields = Path(f"/proc/self/task/{task}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")

def person():
    try:
        act_like_a_person()
    except BaseException:
        import traceback
        errors.append(traceback.format_exc())
    stop.set()

def act_like_a_person():
    deadline = time.monotonic() + 80
    spoke_at = -1e9
    while time.monotonic() < deadline and not stop.is_set():
        time.sleep(0.05)
        dialogue = runner.session.coach
        again = time.monotonic() > spoke_at + 3.0
        coaches = [s for s in sessions if isinstance(s.coach, Coach)]
        if isinstance(dialogue, Coach) and len(coaches) == 1:
            if dialogue.state is State.ASK_CONSENT and quiet(dialogue) and again:
                speak("no"); spoke_at = time.monotonic()
        elif isinstance(dialogue, Standby) and dialogue.state is StandbyState.LISTENING:
            measured = cpu.get("start", (0.0, time.monotonic()))
            if quiet(dialogue, 1.0) and "start" not in cpu:
                cpu["start"] = (own_cpu(), time.monotonic())
            elif "end" not in cpu and time.monotonic() > measured[1] + @CPU_SECONDS@:
                cpu["end"] = (own_cpu(), time.monotonic())
            elif "end" in cpu and quiet(dialogue) and again:
                speak("ready"); spoke_at = time.monotonic()
        elif isinstance(dialogue, Standby) and dialogue.state is StandbyState.ASKING:
            if quiet(dialogue) and again:
                speak("yes"); spoke_at = time.monotonic()
        elif isinstance(dialogue, Coach) and dialogue.state is State.ASK_CONSENT:
            if quiet(dialogue, 1.0):
                return  # the second session asked its first question, which was heard

pipes.start_clock()
threading.Thread(target=person, daemon=True).start()
ended = []
status = run_with_standby(runner, new_session, new_standby, ended.append)
mic.close(); speaker.close(); runner.session.sink.close(); pipes.close()
(c0, t0), (c1, t1) = cpu.get("start", (0, 0)), cpu.get("end", (0, 1))
print(json.dumps({"status": status, "ended": ended, "spoken": spoken, "transcript": said,
                  "errors": errors, "standby_cpu": (c1 - c0) / (t1 - t0),
                  "dialogues": [type(s.coach).__name__ for s in sessions]}))
"""


def occurrences(times: list[float], gap: float = 0.3) -> list[float]:
    """The start of each run of ``times`` (frames of one line), runs split at ``gap``."""
    return [t for i, t in enumerate(times) if i == 0 or t - times[i - 1] > gap]


@pytest.mark.slow
def test_standby_after_a_declined_session_ready_and_yes_begin_another(tmp_path: Path) -> None:
    """`voicecoach run --standby`'s loop on real streams with the real recognizer: the
    person declines the first session ("no"); the coach says once that it stays, and
    listens; "ready" gets the question, "yes" begins a second session, whose first
    question is heard from the speaker; the log has both sessions."""
    dev = make_duplex_device(tmp_path, paced=True)
    log = tmp_path / "log.sqlite3"
    code = child_code(_STANDBY_CHILD, dev, tmp_path).replace("@LOG@", repr(str(log)))
    code = code.replace("@CPU_SECONDS@", "4.0")
    for name, hz in STANDBY_MARKERS.items():
        code = code.replace(f"@{name}@", repr(hz))
    result = run_python(dev, code, timeout=150)  # type: ignore[arg-type]

    assert result["errors"] == [], result["errors"][0]
    rows = result["transcript"]
    assert result["dialogues"] == ["Coach", "Standby", "Coach"], json.dumps(rows, indent=0)
    assert result["ended"] == ["declined", "interrupted"]
    heard = [e["command"] for e in rows if e["kind"] == "heard"]
    assert heard[0] == "no" and heard[-2:] == ["next", "yes"], heard
    said = [e["text"] for e in rows if e["kind"] == "said"]
    assert said.count(script.STANDBY) == 1 and said.count(script.CONSENT_QUESTION) == 2

    with SessionLog(log) as db:
        sessions = db.sessions()
    assert sorted(s.status for s in sessions) == ["declined", "interrupted"]

    played = np.frombuffer((tmp_path / "played.raw").read_bytes(), dtype="<i2") / 32768.0
    found = {name: occurrences(tone_times(played, hz)) for name, hz in STANDBY_MARKERS.items()}
    assert len(found["declined"]) == 1 and len(found["standby"]) == 1, found
    assert found["question"] and len(found["consent"]) == 2, found
    first, second = found["consent"]
    assert first < found["declined"][0] < found["standby"][0] < found["question"][0] < second
    # Reported, not asserted (run with -s to see it): the CPU used in standby.
    print(f"\nstandby: {100 * result['standby_cpu']:.1f} % of one core (pacing threads left out)")
