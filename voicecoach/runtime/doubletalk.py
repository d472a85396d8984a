"""Is anyone but the coach talking? A level check against what the speaker played.

Without echo cancellation, a grammar recognizer hearing the coach's voice sometimes
maps it to a command that the coach did not literally say (its "it hurts" is really
"...is done five times"). The coach knows what it played, so it can tell whether the
microphone heard more than its own echo:

- :class:`TapSink` wraps the speaker's sink and keeps the power of everything played,
  in 20 ms frames of clock time (the echo *reference*);
- :class:`DoubleTalk` keeps the microphone's power in the same frames, learns the
  echo path's delay (output latency plus the room: the lag that best lines the
  reference's power envelope up with the microphone's) and gain (mic power / reference
  power at that delay while the coach speaks, the median, so the user sometimes
  talking over it does not inflate it; until the delay is known, the ratio of their
  energies) and the room's noise floor; for a recognized command it asks whether any
  0.3 s window of it carries clearly more power than echo plus noise would.

This is the double-talk detector of an echo canceller without the canceller. It only
works when the user is not much quieter than the echo, and it asks more than the
factor (2, 3 dB) says: the gain is learned at the estimated lag, while the prediction
takes the loudest of five lags around it and a reverberant tail, so where only the
coach spoke the microphone held 0.41 of the prediction at the median (10th-90th
percentile 0.15-0.90; the demo's room, self-correction, one session). A user as loud
as the echo is then not enough: "it hurts" said in the first 2 s of a held breath, over
"Breathe in, and hold." and "Nine.", reached 0.96-1.46 of the prediction and was not
acted on.

So where the live loop runs the echo canceller, :class:`ResidualCheck` answers first:
in what the canceller left, the echo is some 20 dB down and the user's voice whole,
so a user 4 dB under the echo stands out by 15 dB or more. The level check answers
only where that check cannot tell (the canceller's first half minute, an echo later
than its filter reaches, a filter still settling after the speaker's volume changed,
a leftover that swings too widely to judge by). ``scripts/bench_doubletalk.py``
measures both. Timing: the reference is placed when the
device's callback says its audio reaches the speaker (:meth:`TapSink.sync`); the
estimated lag corrects what that misses (buffers outside PortAudio, the distance to
the microphone).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..audio.aec import BlockLog, ReferenceBuffer, place_reference
from ..audio.chunk import ASR_RATE, AudioChunk, StreamResampler
from ..audio.sd_output import Written
from ..audio.sinks import Clock, Sink

FRAME = 0.02


def _binned_power(samples: np.ndarray, start: float, rate: int) -> tuple[int, np.ndarray]:
    """(first frame index, power per frame) of mono float samples from clock time ``start``.

    Power is energy over a whole frame's worth of samples, so the parts of a frame
    that two chunks cover add up to the frame's power.
    """
    if len(samples) == 0:
        return 0, np.zeros(0)
    t = start + np.arange(len(samples)) / rate + 1e-9  # keep exact edges in their frame
    bins = np.floor(t / FRAME).astype(np.int64)
    first = int(bins[0])
    energy = np.bincount(bins - first, weights=samples.astype(np.float64) ** 2)
    return first, energy / (FRAME * rate)


def _window_ratios(heard: np.ndarray, expected: np.ndarray, w: int) -> np.ndarray:
    """Energy heard over energy expected, in every window of ``w`` frames or blocks."""
    kernel = np.ones(w)
    return np.convolve(heard, kernel, mode="valid") / np.convolve(expected, kernel, mode="valid")


class TapSink:
    """A :class:`~voicecoach.audio.sinks.Sink` that remembers what it plays.

    It keeps the power per 20 ms frame (for :class:`DoubleTalk`) and the samples
    themselves at 16 kHz in :attr:`played` (for the echo canceller), both placed at
    the clock time they leave the speaker.

    A sink that reports what its device callback wrote, and when that reaches the
    speaker (``take_played()``, as :class:`~voicecoach.audio.sd_output.SoundDeviceSink`
    does), is taken at its word: :meth:`sync` collects it. Any other sink plays a chunk
    when it is handed over or when the audio queued before it ends (a memory sink,
    exactly so), which is where the chunk is placed.
    """

    def __init__(self, inner: Sink, keep: float = 60.0) -> None:
        self.inner = inner
        self.clock: Clock = inner.clock
        self.keep = keep
        self._power: dict[int, float] = {}
        self._end = -math.inf
        self.played = ReferenceBuffer(keep)
        """What was played, as 16 kHz mono samples on the clock."""
        take = getattr(inner, "take_played", None)
        self._take: Callable[[], list[Written]] | None = take if callable(take) else None
        self._rate = int(getattr(inner, "rate", ASR_RATE))
        self._run: _Run | None = None  # the stretch of continuous audio being collected
        self._complete = -math.inf  # as of the last sync (a sink that reports)
        self._trimmed = -math.inf  # clock time of the last _forget_old scan
        self.learned: object | None = None
        """What a user of the tap learned from it (the live loop's echo checks and
        canceller), kept for the next session on the same speaker."""

    def _note(self, start: float, samples: np.ndarray, rate: int) -> None:
        """Keep the power of mono ``samples`` at ``rate`` played from clock time ``start``."""
        first, power = _binned_power(samples, start, rate)
        for i, p in enumerate(power):
            self._power[first + i] = self._power.get(first + i, 0.0) + float(p)

    def _forget_old(self) -> None:
        """Drop power older than :attr:`keep` (a scan of every frame: at most once a second)."""
        now = self.inner.clock()
        if now - self._trimmed < 1.0:
            return
        self._trimmed = now
        old = int((now - self.keep) / FRAME)
        for k in [k for k in self._power if k < old]:
            del self._power[k]

    def complete_until(self) -> float:
        """Clock time up to which :attr:`played` is complete: as of the last :meth:`sync`
        for a sink that reports what it wrote; now for one whose chunks are placed when
        handed over (nothing handed over later plays before now).

        The echo canceller reads the reference ``lead`` (50 ms) ahead of the microphone
        and waits until it is complete there. A memory sink has no output latency, so
        the canceller runs that far behind the clock, as it would on a device whose
        latency is shorter than the lead. Taken as complete to the end of time (as it
        was), a line begun after silence had had its first 50 ms read as silence; the
        filter then left their echo for its whole length (0.45 s), the check on what it
        left could not judge those blocks, and in the demo "it hurts" said 0.2 s into
        "Breathe in, and hold." was taken for the coach's echo.
        """
        if self._take is None:
            return self.inner.clock()
        return self._complete

    def sync(self) -> None:
        """Collect what the device wrote since the last call (a sink that reports it)."""
        if self._take is None:
            return
        # Read first: whatever the callback writes up to then is in what is taken next.
        decided = getattr(self.inner, "decided_until", None)
        if decided is not None:
            self._complete = float(decided)
        for block in self._take():
            run = self._run
            base = ReferenceBuffer.index(block.time - block.frame / self._rate)
            if run is None or block.frame != run.next or base != run.base:
                if run is not None:
                    run.finish(self.played)
                    if base != run.base:  # the speaker's timeline moved
                        self.played.moved(block.time)
                run = self._run = _Run(block, self._rate, base)
            run.add(block.samples, self.played)
            self._note(block.time, block.samples, self._rate)
        self._forget_old()

    # The Sink protocol, forwarded.

    def play(self, chunk: AudioChunk, utterance_id: int | None = None) -> None:
        """Note the chunk's power from when it will start, then play it."""
        if self._take is None:
            start = max(self.inner.clock(), self._end)
            samples = chunk.samples().mean(axis=1)
            self._note(start, samples, chunk.rate)
            self._forget_old()
            self.played.add(*place_reference(samples, chunk.rate, start))
            self._end = start + chunk.duration
        self.inner.play(chunk, utterance_id)

    def play_over(self, chunk: AudioChunk) -> None:
        """Note the chunk's power from now, over what plays, then play it so."""
        if self._take is None:
            now = self.inner.clock()
            samples = chunk.samples().mean(axis=1)
            self._note(now, samples, chunk.rate)
            self.played.add(*place_reference(samples, chunk.rate, now))
        self.inner.play_over(chunk)

    def end(self, utterance_id: int) -> None:
        """Forwarded."""
        self.inner.end(utterance_id)

    def stop(self) -> None:
        """Forget the reference after now, then silence the inner sink.

        A sink that reports what it wrote needs no forgetting: what its device had
        taken before the stop still plays, and is echo.
        """
        if self._take is not None:
            self.inner.stop()
            return
        now = self.inner.clock()
        cut = int(math.ceil(now / FRAME))
        for k in [k for k in self._power if k >= cut]:
            del self._power[k]
        self.played.clear_from(now)
        self._end = now
        self.inner.stop()

    def poll_finished(self) -> list[int]:
        """Forwarded."""
        return self.inner.poll_finished()

    def is_playing(self) -> bool:
        """Forwarded."""
        return self.inner.is_playing()

    @property
    def last_audio_end(self) -> float:
        """Forwarded."""
        return self.inner.last_audio_end

    def close(self) -> None:
        """Forwarded."""
        self.inner.close()

    def __getattr__(self, name: str) -> object:
        # Extras of particular sinks (MemorySink.next_finish, SoundDeviceSink.active).
        return getattr(self.inner, name)

    def reference(self, first: int, last: int) -> np.ndarray:
        """Played power in frames ``first..last`` inclusive."""
        return np.array([self._power.get(k, 0.0) for k in range(first, last + 1)])


class _Run:
    """A stretch of audio that played without a break, resampled to 16 kHz as one
    stream (block by block, resampling would leave a seam at every block).

    Its 16 kHz samples fall on one grid for the whole output stream: sample ``k`` is
    the stream's frame ``k * rate / 16000``. Each stretch resampled from its own first
    frame would put the reference a different fraction of a sample off at every
    utterance, which the canceller's filter takes for a changed echo path.
    """

    def __init__(self, first: Written, rate: int, base: int) -> None:
        step = rate / ASR_RATE
        delay = StreamResampler.filter_delay(rate, ASR_RATE)
        # The first grid sample this stretch's filtered samples reach.
        self.k = math.ceil((first.frame - delay) / step)
        self.resampler = StreamResampler(rate, ASR_RATE, self.k * step - first.frame + delay)
        self.base = base  # reference index of grid sample 0 (the stream's frame 0)
        self.next = first.frame  # the stream frame that would continue the run

    def add(self, samples: np.ndarray, played: ReferenceBuffer) -> None:
        self._place(self.resampler.process(samples), played)
        self.next += len(samples)

    def finish(self, played: ReferenceBuffer) -> None:
        """Place what the resampler still holds (the run's last samples)."""
        tail = np.zeros(2 * self.resampler.delay + 2, dtype=np.float32)
        self._place(self.resampler.process(tail), played)

    def _place(self, out: np.ndarray, played: ReferenceBuffer) -> None:
        played.add((self.base + self.k) / ASR_RATE, out)
        self.k += len(out)


class DoubleTalk:
    """Microphone power per frame, the echo path's gain, and the user-present test."""

    def __init__(
        self,
        tap: TapSink,
        factor: float = 2.0,
        window: float = 0.3,
        keep: float = 60.0,
    ) -> None:
        self.tap = tap
        self.factor = factor
        self.prior_gain = 1.0
        self.window = max(1, int(round(window / FRAME)))
        self.keep = int(keep / FRAME)
        self._mic: dict[int, float] = {}
        self._ratios: deque[float] = deque(maxlen=1500)  # 30 s of coach speech
        self._quiet: deque[float] = deque(maxlen=1500)
        self._gain: float | None = None
        self._floor = 1e-8
        self._energy = np.zeros(2)  # mic and reference energy before the delay is known
        self._audible = 0  # frames of them in which the coach was audible
        self._frames_seen = 0
        self._learned = -(2**62)  # frames before this one have been learned from
        self.lag = 0
        """Estimated frames from the reference to the echo in the microphone."""
        self.max_lag = 75
        """Longest echo delay looked for, in frames (1.5 s): output latency plus the room,
        and a device that reports its latency wrong. The echo canceller follows a delay
        only up to its filter's length (0.4 s); beyond that this check is what keeps
        the coach's own words from acting as safety commands. With 0.4 s here, in
        ``bench_live.py --echo-delay 0.8`` (the echo 0.8 s after the reported time)
        the coach's echo was taken for "that hurts", "stop the session" and "hold
        on" 5 times in 6 minutes, and the session ended for pain."""
        self.min_lag = -5
        """Earliest echo looked for, in frames (0.1 s before the time the device
        reported): a device that reports more output latency than it has. With 0 here,
        an echo 40 ms early (``scripts/bench_doubletalk.py --delay-step -0.04``) was
        never lined up, and the level check took 14 % of the windows of the coach's
        echo alone for the user for the rest of the stream."""
        self._lag_known = False
        self.residual: ResidualCheck | None = None
        """The check on what the echo canceller left, asked first (None: no canceller)."""
        self.verdict = ""
        """How :meth:`user_present` last decided, for the session log: which check and
        its score against its factor, the level check's after the canceller's
        ("residual 53/20 (level 0.8/2)", "level 2.1/2"), or why neither could tell."""
        self.reach = 0.3
        """The longest echo delay (s) at which :attr:`residual` is asked: the canceller's
        filter spans 0.4 s, less its 0.05 s lead and some of the room's tail. An echo
        later than that is not cancelled; with a steady sound (a tone) the filter can
        still seem to cancel it, and its check then takes the echo of each new sound
        for the user."""
        self.reach_early = 0.04
        """The earliest echo (s before the reported time) at which :attr:`residual` is
        asked: the canceller reads its reference only 0.05 s ahead."""

    def feed(self, chunk: AudioChunk) -> None:
        """Record a microphone chunk (16 kHz mono, clock timestamps); learn the echo gain."""
        first, power = _binned_power(chunk.samples()[:, 0], chunk.timestamp, chunk.rate)
        for i, p in enumerate(power):
            k = first + i
            self._mic[k] = self._mic.get(k, 0.0) + float(p)
        # Learn from frames that are complete: every one before this chunk's last.
        done = first + len(power) - 1
        start = max(self._learned, done - 50)
        ref = self.tap.reference(start - self.lag, done - 1 - self.lag)
        for i, k in enumerate(range(start, done)):
            p = self._mic.get(k)
            if p is None:
                continue
            if not self._lag_known:
                # Frame by frame, the wrong frames of speech give ratios far too low (a
                # third of the true gain with the echo 0.15 s late; half in
                # bench_live's rig), and the echo of the coach's words could then pass
                # for the user's voice. The energy of a few seconds does not depend
                # on the delay (the room's noise and any talk in it count as echo:
                # the estimate errs high, towards not stopping the coach).
                self._energy += (p, ref[i])
                self._audible += bool(ref[i] > 1e-4)
            elif ref[i] > 1e-4:  # the coach is audible: -40 dBFS
                self._ratios.append(p / ref[i])
            if ref[i] == 0.0:
                self._quiet.append(p)
        self._learned = max(self._learned, done)
        self._frames_seen += len(power)
        if self._frames_seen >= 50:  # refresh the estimates once a second
            self._frames_seen = 0
            self._estimate_lag(done)
            if len(self._ratios) >= 50:
                self._gain = float(np.median(self._ratios))
            elif not self._lag_known and self._audible >= 50 and self._energy[1] > 0:
                self._gain = float(self._energy[0] / self._energy[1])
            if self._quiet:
                self._floor = max(float(np.percentile(self._quiet, 20)), 1e-10)
            old = first - self.keep
            for k in [k for k in self._mic if k < old]:
                del self._mic[k]

    def _estimate_lag(self, done: int, span: int = 500) -> None:
        """Find the echo's delay: the lag that best lines the reference up with the mic."""
        first = done - span
        mic = np.array([self._mic.get(k, np.nan) for k in range(first, done)])
        # Reference frame first - max_lag + i at index i; mic frame k at lag L lines
        # up with index k - first + max_lag - L.
        ref = self.tap.reference(first - self.max_lag, done - 1 - self.min_lag)
        heard = ~np.isnan(mic)
        if np.count_nonzero(ref[self.max_lag : self.max_lag + span][heard] > 1e-4) < 100:
            return  # not enough of the coach's speech heard yet
        logmic = np.log(mic[heard] + 1e-8)
        if np.std(logmic) == 0:
            return  # a silent microphone tells nothing
        lags = range(self.min_lag, self.max_lag + 1)
        scores = []
        for lag in lags:
            at = self.max_lag - lag
            shifted = np.log(ref[at : at + span][heard] + 1e-8)
            ok = np.std(shifted) > 0
            scores.append(float(np.corrcoef(logmic, shifted)[0, 1]) if ok else -1.0)
        best = lags[int(np.argmax(scores))]
        if best != self.lag or not self._lag_known:
            self.lag = best
            self._lag_known = True
            self._ratios.clear()  # they were measured against the wrong frames

    @property
    def echo_gain(self) -> float | None:
        """Learned mic power / played power, or None before enough coach speech."""
        return self._gain

    def _expected(self, first: int, last: int) -> np.ndarray:
        """Reference power that may reach the microphone in frames ``first..last``.

        The reference gets a decaying tail (-2.2 dB per frame, a reverberation time of
        about half a second), as a room smears it, and is shifted by the echo's delay:
        the estimated lag give or take two frames, or any lag from ``min_lag`` to
        ``max_lag`` before the delay has been estimated.
        """
        tail = 15
        if self._lag_known:
            lo, hi = max(self.lag - 2, self.min_lag), self.lag + 2
        else:
            lo, hi = self.min_lag, self.max_lag
        pad = tail + hi
        ref = self.tap.reference(first - pad, last - min(lo, 0))
        smeared = ref.copy()
        for j in range(1, tail + 1):
            smeared[j:] = np.maximum(smeared[j:], ref[:-j] * 0.6**j)
        n = last - first + 1
        out = np.zeros(n)
        for lag in range(lo, hi + 1):
            out = np.maximum(out, smeared[pad - lag : pad - lag + n])
        return out

    def user_present(self, start: float, end: float) -> bool | None:
        """True if the microphone heard clearly more than echo + noise in ``start..end``.

        None when it cannot tell (no microphone frames there, or the check is off).
        Where the echo canceller works (:attr:`residual`) and the echo comes within its
        filter's reach, its check answers, and this level check only where it cannot
        tell.
        """
        self.verdict = "off"
        if self.factor <= 0:
            return None
        level = self._level_score(start, end)
        said = "no microphone frames" if level is None else f"level {level:.2g}/{self.factor:g}"
        reached = -self.reach_early <= self.lag * FRAME <= self.reach
        if self.residual is not None and self._lag_known and reached:
            score = self.residual.score(start, end)
            if score is not None:
                self.verdict = f"residual {score:.2g}/{self.residual.accept:g} ({said})"
                return score > self.residual.accept
        self.verdict = said
        return None if level is None else level > self.factor

    def _level_score(self, start: float, end: float) -> float | None:
        """The most the microphone heard over the echo and noise it should hear, in any
        ``window`` of ``start..end``; None with no microphone frames there."""
        first, last = int(start / FRAME), int(end / FRAME)
        mic = np.array([self._mic.get(k, np.nan) for k in range(first, last + 1)])
        if len(mic) == 0 or np.all(np.isnan(mic)):
            return None
        # Before the echo has been measured (the first second of the coach's speech),
        # assume it is as loud as the output itself: a barge-in must then be louder
        # than the coach, which errs towards not stopping the coach for its own voice.
        gain = self._gain if self._gain is not None else self.prior_gain
        predicted = gain * self._expected(first, last) + self._floor
        mic = np.nan_to_num(mic, nan=0.0)
        return float(np.max(_window_ratios(mic, predicted, min(self.window, len(mic)))))


@dataclass(frozen=True)
class _Learned:
    """What :class:`ResidualCheck` has learned of the canceller, where the coach is heard."""

    share: float
    """What the canceller leaves of the echo (median of residual / echo estimate over
    the coach's last ``lately`` seconds heard)."""
    swing: float
    """The 90th percentile of the leftover over its prediction, in 0.3 s windows (those
    under twice the factor)."""
    recent: float
    """The same over the coach's last ``recent`` seconds heard."""
    noise: float
    """The room's noise energy per block."""
    explained: float
    """The echo estimate's share of the microphone's energy (median)."""


class ResidualCheck:
    """Is anyone but the coach talking? Asked of what the echo canceller left.

    Where the canceller works, what it leaves of the coach's voice is a steady share of
    the echo it took out, while the user's voice passes whole. A user as loud as the
    echo then stands well above what is left of it, where the level check on the
    microphone as it is (:class:`DoubleTalk`) cannot tell them from a loud syllable of
    the echo. Per filter block (10 ms) the part of the residual that is a multiple of
    the echo estimate is not counted: the speaker turned up or down leaves the echo
    scaled until the filter has learned the new level, and that is echo, not the user.

    A command is taken for the user when some 0.3 s of it holds ``accept`` times what
    the echo's usual leftover (the median share over the coach's last ``lately``
    seconds heard, at least ``min_share``) plus the room's noise predicts; more where
    that leftover swings widely (in proportion, once ``swings`` times its 90th
    percentile over 0.3 s windows passes ``factor``).

    ``accept`` was 4 (``factor``) until the live benchmark (``scripts/bench_live.py``,
    five runs) took the coach's echo for "pain", "that hurts" and "pause" six times
    in three of the runs, with scores 4.7, 8.2, 14 and 17, and twice ended the session
    for pain; the scores of users 12 dB quieter than the echo's peaks run from 4.4
    (median 28), 6 dB quieter from 17 (median 96), as loud from 57
    (``scripts/bench_doubletalk.py --seconds 600 --seed 2``). At 20 the check takes
    59.6 % of the users 12 dB quieter (98.1 % at 4; the level check alone 1.9 %),
    94.2 % of those 6 dB quieter (the same), and all as loud; the others are heard
    when the coach pauses, which it does between counts.

    It answers None, and the level check decides, unless the canceller clearly works:
    its echo estimate carries at least ``explained`` of the microphone's energy where
    the coach is heard and leaves at most ``max_residual`` of it, what it left over
    the coach's last ``recent`` seconds heard is under ``settle`` times the usual (not
    a filter still settling), and the leftover's swing is at most ``max_swing`` (over
    the first half minute of the coach's speech the leftover falls as the filter
    converges, and swings widely against its latest level).

    Not covered: a command within about a second of the speaker's volume turned up,
    where the filter's first steps towards the new level leave as much as a user would
    (``scripts/bench_doubletalk.py --seconds 600 --seed 2 --volume-step 6``: 0.25 % of
    the windows of the coach's speech, where the level check alone takes 1.61 %).
    """

    def __init__(
        self,
        log: BlockLog,
        factor: float = 4.0,
        window: float = 0.3,
        history: float = 30.0,
        accept: float = 20.0,
        explained: float = 0.3,
        max_residual: float = 0.1,
        lately: float = 5.0,
        recent: float = 0.75,
        settle: float = 5.0,
        swings: float = 3.0,
        max_swing: float = 3.0,
        min_share: float = 0.01,
    ) -> None:
        self.log = log
        self.lately = max(1, int(round(lately * ASR_RATE / log.block)))
        self.recent = max(1, int(round(recent * ASR_RATE / log.block)))
        self.settle = settle
        self.swings = swings
        self.max_swing = max_swing
        self.min_share = min_share
        self.factor = factor
        self.accept = accept
        self.window = window
        self.history = history
        self.explained = explained
        self.max_residual = max_residual

    def _blocks(
        self, since: float
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Start, microphone, echo estimate, the residual's part that is not a multiple
        of the echo estimate, and whether the filter had the whole reference, per block
        from ``since`` on.

        A residual that is the echo estimate scaled (the speaker's volume turned up or
        down: the filter takes out too little or too much until it has learned the
        new level) is echo all the same, not the user.
        """
        start, mic, echo, residual, cross, clean = self.log.since(since)
        other = residual - cross**2 / np.maximum(echo, 1e-12)
        return start, mic, echo, np.maximum(other, 0.0), clean > 0

    def state(self, now: float) -> _Learned | None:
        """What the blocks before ``now`` tell of the canceller, or None while there is
        too little of the coach's speech."""
        start, mic, echo, residual, clean = self._blocks(now - self.history)
        use = (start < now) & clean
        mic, echo, residual = mic[use], echo[use], residual[use]
        if len(mic) < 200:
            return None
        noise = max(float(np.percentile(residual, 10)), 1e-12)
        heard = echo > 10 * noise  # blocks where the coach is clearly heard
        if np.count_nonzero(heard) < 200:
            return None
        shares = residual[heard] / echo[heard]
        share = float(np.median(shares[-self.lately :]))
        floor = max(share, self.min_share)
        # How the echo's leftover itself swings, 0.3 s at a time, where the coach is heard.
        w = self._window_blocks(len(echo))
        ratios = _window_ratios(residual, floor * echo + noise, w)
        voiced = np.convolve(heard, np.ones(w), mode="valid") == w
        swings = ratios[voiced][-3 * self.lately :]
        # Not the windows this check would take for the user at twice its factor: where
        # someone talks over the coach now and then, they are not the echo's swing.
        swings = swings[swings < 2 * self.factor]
        swing = float(np.percentile(swings, 90)) if len(swings) else 1.0
        return _Learned(
            share=share,
            swing=swing,
            recent=float(np.median(shares[-self.recent :])),
            noise=noise,
            explained=float(np.median(echo[heard] / np.maximum(mic[heard], 1e-12))),
        )

    def score(self, start: float, end: float) -> float | None:
        """How many times the echo's usual leftover plus noise the loudest 0.3 s of
        what the canceller left in ``start..end`` holds (less where the leftover swings
        widely); None when it cannot tell."""
        learned = self.state(start)
        if learned is None:
            return None
        share, noise = max(learned.share, self.min_share), learned.noise
        if (
            learned.explained < self.explained
            or share > self.max_residual
            or learned.recent > self.settle * share
            or learned.swing > self.max_swing
        ):
            return None
        t, _, echo, residual, clean = self._blocks(start)
        inside = t < end
        echo, residual = echo[inside], residual[inside]
        if len(echo) == 0 or not clean[inside].all():
            return None  # nothing heard, or sound the filter never had
        ratios = _window_ratios(residual, share * echo + noise, self._window_blocks(len(echo)))
        # A leftover that swings widely asks for proportionally more.
        stretch = max(1.0, self.swings * learned.swing / self.factor)
        return float(np.max(ratios)) / stretch

    def _window_blocks(self, n: int) -> int:
        return max(1, min(n, int(round(self.window * ASR_RATE / self.log.block))))

    def user_present(self, start: float, end: float) -> bool | None:
        """True if what the canceller left in ``start..end`` holds clearly more than the
        echo's usual leftover plus noise; None when it cannot tell."""
        score = self.score(start, end)
        return None if score is None else score > self.accept


__all__ = ["DoubleTalk", "ResidualCheck", "TapSink"]
