"""Streaming set, rep and hold detection from the pelvis pose (the ``RepStage``).

Method (one pass, explicit state, chunk-size invariant):

1. The pelvis-frame stream is averaged into 50 ms bins (:mod:`.signals`), then low-pass filtered (2nd-order
   Butterworth, 2 Hz). Vertical pelvis travel ``z`` is the world-vertical acceleration less its bias (the bins
   themselves, delayed by the low-pass's group delay: low-passed, fast reps' phases smeared into each other),
   integrated twice with leaky integrators and zero-velocity updates after 0.3 s of quiet (deferred while the
   velocity is still at its peak: the quiet middle of a slow movement; after 0.15 s once a fast movement has slowed
   to a fraction of its peak velocity, or 0.1 s on the unfiltered bins: the short pauses of fast sets; the bias is
   learnt there from the
   acceleration and from the velocity left over); travel leaks toward the rest pose's height (never toward an
   arbitrary zero), and the velocity left at the end of every rep is removed. It is only used over one rep, where
   drift is small.
2. The pose is ``x = (z [cm], anterior tilt [deg], obliquity [deg])``; upright, one centimetre of travel weighs as
   much as one degree of tilt; lying travel weighs 0.3, on all fours nothing (there every exercise tilts the
   pelvis and the integrated travel drifts with the tilt). Every exercise here is an excursion of the pose away
   from a rest pose (standing tall, hips on the floor, quadruped, seated) and back, so the rep signal is the
   distance ``D = |x - x_rest|``, which needs no exercise-specific axis and no sign.
3. A hysteresis state machine on ``D``: an excursion starts when ``D`` exceeds ``max(h_min, 0.35 * A)`` (``A`` the
   median peak of the set so far, ``h_min`` by posture or by the declared exercise) and ends when ``D`` has come
   back below half its peak (or, after a tilt swing of 15 deg or more, the tilt back near rest) and the pose
   stopped or turned (or, in a fast rep, is back near rest and slow for 0.15 s). The rep starts at the last bin
   before the fastest outward motion that moves at less than 5 % of it. Phases: the "turn" is where ``D`` is within
   20 % of the peak and moves at < 5 % of its top speed; the way out lasts from the start to the turn, the pause is
   the turn, the way back from the turn to the end.
   Which half is eccentric follows from physics: moving the pelvis up is concentric (step-up, rising from a chair,
   bridges), moving it down is eccentric (squats, lunges, deadlifts); donkey kicks start concentric.
4. The rest pose follows the pose while the pelvis is still (and near rest inside a set), and is set to the pose at
   the end of every rep (on all fours, if the rep gave up while the pelvis still moved, to the next still pose
   instead; between sets, to the pose held between two excursions that leave it the same way: repeated kicks just
   under the threshold). A still pose far from rest in another posture class (upright / supine / prone) for 2 s
   is a posture change, not a rep: the rest pose moves there.
5. A turn held still for ``hold_min_s`` or longer is a hold (:class:`~sensor.events.HoldEvent`), not a rep.
6. A set ends when no rep started for ``max(6 s, 2.5 x median rep time)``, on gait (upright only: a fast set on the
   floor can look like gait to the activity labels; during a set neither a hip hinge nor a vertical displacement
   beyond a stride's is gait), or on a posture change.

Reported times are corrected for the low-pass filter's group delay. Reps are announced 0.25 s (plus one bin)
after the pelvis stops at the end of the rep, within 0.5 s of its completion.

The rep counting idea (excursion of a low-dimensional pose from rest with adaptive hysteresis) follows RecoFit
(Morris et al., CHI 2014) in spirit, adapted to one pelvis sensor.
"""

from __future__ import annotations

import math
import statistics
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import islice
from typing import Final

import numpy as np
from numpy.typing import NDArray
from scipy.signal import bilinear, butter, lfilter_zi

from sensor.events import Event, Exercise, HoldEvent, RepEvent, SetEvent
from sensor.frames import SIDE_SIGN, Side
from sensor.pipeline.filters import lfilter_zi_call
from sensor.pipeline.reps.exercise import (
    EXERCISE_PROFILES,
    PRONE,
    UPRIGHT,
    ExerciseClassifier,
    Posture,
    RepFeatures,
    posture_of,
    set_vector,
)
from sensor.pipeline.reps.signals import (
    BIN_S,
    CH_A_VERT,
    CH_GAIT,
    CH_GYR,
    CH_PITCH,
    CH_PITCH_G,
    CH_ROLL,
    CH_ROLL_G,
    CH_YAW,
    RAW_W,
    BinAverager,
    abs_gradient,
    bin_channels,
    chunk_columns,
)
from sensor.pipeline.stage import PelvisChunk

FloatArray = NDArray[np.float64]


FS_HZ: Final = 1.0 / BIN_S
LP_HZ: Final = 2.0
LP_DELAY_S: Final = math.sqrt(2.0) / (2.0 * math.pi * LP_HZ)
"""Low-frequency group delay of the 2nd-order Butterworth low-pass, s (subtracted from reported times)."""
LEAK_V_TAU_S: Final = 30.0
LEAK_Z_TAU_S: Final = 60.0
CM_PER_M: Final = 100.0
A_DELAY_BINS: Final = 2
BUF_N: Final = 2400
"""Ring buffer of derived pose values: 120 s at 20 Hz (the longest hold or rep followed)."""

V_MAX_MPS: Final = 5.0
"""The pelvis never moves up or down faster than this in these exercises (bounds integration drift). A bound below
the fastest way up cuts its velocity and leaves the cut as velocity error at the top: sitting down in 0.4 s reaches
2.5 m/s; in the fast sets (0.9-1.5 s a rep) squats stand up at up to 4.2-4.3 m/s and sit-to-stands at 3.4-3.9 m/s,
and 3 m/s left 0.5-0.8 m/s of error at every top (fast seed 166: 3 of 17 squats; docs/training.md, round 8)."""
Z_MAX_CM: Final = 90.0
"""An excursion whose vertical travel exceeds this is integration drift, not a rep. During a set, in the set's
posture, only the integral is wrong: the travel goes back to the rest pose's height, the velocity to zero (its error
is as large as itself, and the pelvis of a set moves about its rest pose: zero is its mean; true velocity lost there
is removed as error at the rep's next stop or turn), and the set goes on (the rest pose's tilt is right). Making the
drifted pose the rest pose and ending the set lost the set's remaining reps: fast squats and lunges are labelled
walking, and outside a set that vetoed them (fast seeds 166, 191: 3 of 17 and 1 of 13)."""
GAIT_VETO_S: Final = 2.0
"""Walking or running labelled for this long without a break stops rep detection (shorter runs of the label
happen inside fast reps)."""
GAIT_TILT_DEG: Final = 20.0
"""Walking and running tilt the pelvis a few degrees about its upright pose; a bin with more anterior tilt
than this (a hip hinge) breaks a run of the gait label."""
GAIT_Z_CM: Final = 8.0
GAIT_BP_HZ: Final = 0.2
"""... nor does a bin whose vertical displacement, band-passed (``s / (s + w)^3``, ``w = 2 pi GAIT_BP_HZ``: the
double integral above that frequency, no drift), exceeds this: walking moves the pelvis up and down by 2-3 cm
(|band-passed| <= 2.3 cm on seeds 0 and 5), lunges by 25-35 cm, and fast lunge sets (1.3 s a rep) were labelled
walking throughout (held-out seeds 2008, 2070, 2098 lost most of their reps to the veto)."""
ZUPT_GYR_RADPS: Final = 0.2
ZUPT_ACC_MPS2: Final = 0.15
SLOW_ALPHA: Final = 1.0 - math.exp(-2.0 * math.pi * 0.1 * BIN_S)
SLOW_STEP_MPS2: Final = 0.3
"""The bias of the vertical acceleration for the quiet test follows at 0.1 Hz, by at most this per bin's error:
the 10-25 m/s^2 of a fast sit-to-stand must not drag it off (it then took seconds to come back, and the pauses
between fast reps never looked quiet)."""
ZUPT_BINS: Final = 6
"""A zero-velocity update: this many quiet bins in a row (below ``ZUPT_GYR_RADPS``, vertical acceleration within
``ZUPT_ACC_MPS2`` of that bias). 0.3 s catches the short pauses of fast sit-to-stands and squats; with 8 bins the
velocity error of one phase ran on into the next (the way down of a sit-to-stand read ~2/3 of its travel). The
deferral below keeps it out of the middle of slow movements."""
ZUPT_BIAS_GAIN: Final = 0.02
"""At an update the acceleration bias moves this share toward the bin's acceleration..."""
ZUPT_MEAN_BINS: Final = 20
"""... but in a posture class (upright / supine / prone) other than the one where it was last averaged, once a quiet
run has this many still updates (1 s; still as for rest poses, ``STILL_GYR_RADPS``, and the tilt not moving,
``ZUPT_TILTING_DPS``), the bias is their mean, from then to the run's end. Lying, standing and kneeling project the
accelerometer's bias differently (0.1-0.2 m/s^2 apart), and 2 % per bin left most of that after 1.75 s standing
still between glute bridges (then a walk, which has no update) and static lunges: rep 1 read 28 cm low at the top and
reps 1-3 were lost (seed 15080: 21 of 24; docs/training.md, round 16). Within a posture class nothing changes (the
sets' own pauses are short, and their long quiet runs include slow starts); a quiet run right after getting up from
the floor is not still (the pelvis settles) and its mean is no bias. The stream's first posture is only noted (no
change of posture yet: averaging the first still run of a real walking recording let the first steps read as a rep).
On all fours, whose pose ignores travel, the class is noted (standing up again is a change) but the bias is left as
it was: travel still enters the pose's speed, which ends reps, and replacing the bias there ended fast donkey kicks
early (fast seed 580: 18 -> 14 of 18)."""
ZUPT_VBIAS_GAIN: Final = 0.5
ZUPT_VBIAS_MIN_BINS: Final = 10
"""... and by this share of the velocity left over divided by the time since the last update (at least this many
bins, at most ``DEDRIFT_BINS``): a bias error b leaves b*T of velocity (zero-velocity-aided bias estimation; the
bias moves with the pose's tilt, and a few bins at rest per rep learn it too slowly)."""
ZUPT_V_MPS: Final = 0.1
ZUPT_PEAK_SHARE: Final = 0.8
ZUPT_DEFER_BINS: Final = 4
"""A quiet run while the integrated velocity is this fast or faster and still at this share of its peak since the
last update is a zero-velocity update only once it has lasted this many bins more. Half-way through a slow
movement (a 30 cm lunge in 2 s) the pelvis moves at 0.2-0.25 m/s with little acceleration, and the quiet test
(against a bias that follows in 1.6 s) passed for 1-4 bins there: on seeds 0-40, 19 of 23 such updates came at
over 0.1 m/s, all at their peak velocity; a true stop comes after the pelvis slowed down (what is left is
integration error, 10-60 % of the peak after fast squats), and updates whose integration error grew steadily
between sets are quiet for longer. The first update of a stream is never deferred: before it the bias is unknown
(a real recording started with 0.2 m/s^2 of it, and the deferred update let 13 cm of travel through)."""
ZUPT_TILTING_DPS: Final = 1.0
ZUPT_TILTING_DEFER_BINS: Final = 16
"""... or this many bins more while the pose's tilt still moves faster than this (the quiet middle of a very slow
movement: a static lunge's way down or up in 2-2.5 s is quiet for 0.5-0.8 s at its peak velocity of 0.2-0.25 m/s,
while its tilt and obliquity change at 2-5 deg/s; a pelvis at rest changes its low-passed tilt by < 0.3 deg/s).
Deferring every update that long instead kept the pauses of Romanian deadlifts from updating at all (seeds 0-99:
reps outside sets 7 -> 29)."""
ZUPT_SLOW_V_MPS: Final = 0.4
ZUPT_TILTING_MAX_BINS: Final = 40
"""... while the integrated velocity is below this (the quiet middle of a slow movement is slow; faster is error)
and the last update is at most this many bins back (the pause before the movement; the velocity of a pelvis that
has not stopped for longer is mostly integration error: standing fidgeting after getting up from the floor drifted
by 45 cm and was counted as a lunge)."""
ZUPT_STEADY_BINS: Final = 10
ZUPT_STEADY_DEG: Final = 2.5
ZUPT_STEADY_STRAIGHT: Final = 0.8
ZUPT_REST_BINS: Final = 22
"""Before an excursion has opened, the longer deferral above holds too while the pose's tilt moves steadily: by
``ZUPT_STEADY_DEG`` or more over the last ``ZUPT_STEADY_BINS`` (0.5 s), along a path at most
1 / ``ZUPT_STEADY_STRAIGHT`` as long as that (one way, not back and forth), the rest pose upright and the last
update's quiet run ``ZUPT_REST_BINS`` (1.1 s) or longer (the pelvis stood at rest before). The slow first way down
of a lunge (2.5-3 s) moves at 0.2 m/s with little acceleration for 0.5 s before ``D`` reaches ``h_on``, its tilt
changing by 5-8 deg/s; updated after 0.5 s of quiet there, the slowing down at the bottom read as 0.3 m/s upward,
the bottom was taken for the rest pose and the set was counted bottom to bottom as step-ups (seed 8094: 8 of 12;
docs/training.md, round 14). Fidgeting tilts the pelvis about as fast, but back and forth, mostly by less than
``ZUPT_STEADY_DEG`` in 0.5 s; the few fidgets that passed (right after getting up from the floor, moving on after a
short stop) did not start from a long still update."""
ZUPT_RESTORE_MIN_BINS: Final = 6
ZUPT_RESTORE_MAX_BINS: Final = 16
ZUPT_RESTORE_DEG: Final = 3.0
"""A still update that went on for this many bins or more (but not more than the second) while the tilt moved
(``ZUPT_TILTING_DPS``), upright, and by ``ZUPT_RESTORE_DEG`` or more in all, was the slow start of a movement: when it
ends (the next bin is no update, mostly as the quiet test fails) the velocity and travel integrated meanwhile (from the
same acceleration and bias) are given back. A step-up's way down from a pause on the step starts at 0.01-0.1 m/s
with hardly any acceleration while the tilt already turns at 1-11 deg/s: the update of the pause went on into it until
the truth was at -0.09 to -0.11 m/s, the slowing down at the floor then read as 0.14-0.3 m/s upward and the reps
never came back (seeds 11069: 3 of 6, 14097: 0 of 2; docs/training.md, round 14). Over 0.8 s the tilt of a pelvis
standing still drifts as much (fidgeting during a long still update): nothing is given back then."""
_TILTING_STEP2: Final = (ZUPT_TILTING_DPS * BIN_S) ** 2
_STEADY_STEP2: Final = ZUPT_STEADY_DEG**2
_RESTORE_STEP2: Final = ZUPT_RESTORE_DEG**2
ZUPT_SHORT_BINS: Final = 3
ZUPT_SHORT_PEAK_MPS: Final = 0.5
ZUPT_SHORT_SHARE: Final = 0.3
"""A shorter quiet run (this many bins) is a zero-velocity update too once the pelvis has moved fast since the last
update (a peak of this much or more) and the integrated velocity has fallen below this share of that peak: the
pause of a fast set (step-ups at 1 s a rep with 0.35 s pauses, fast static lunges) is quiet for only 4-5 bins
(the 2 Hz low-passed rotation rate and the undelayed acceleration disagree at its edges), and the 0.15-0.25 m/s
of velocity error each fast phase leaves (orientation lag) ran on through it, so the travel drifted like "going out
again" and reps merged (seed 4007: 5 of 22)."""
ZUPT_PAUSE_BINS: Final = 2
"""... and so is a pause this long (0.1 s) on the bins' own angular rate and acceleration, ``A_DELAY_BINS`` back
(where the integrated velocity is), under the same fast-stop condition: the 0.1-0.2 s pauses of fast sit-to-stands
and squats were never quiet for 3 bins on the 2 Hz low-passed rotation rate (after a 30-45 deg swing it reads
1-4 rad/s for 0.15-0.25 s into the pause) and the undelayed acceleration, so the velocity error of each fast phase
(0.2-0.5 m/s) ran on (fast sit-to-stands 71 % exact; see docs/training.md, round 7b). Such an update is one bin
(it never goes on, the middle of a slow movement right after a fast one is as quiet) and learns no bias from the
velocity left (the error of a fast phase is no bias: getting up after a set drifted by 0.2 m/s more)."""
TURN_V_BINS: Final = 4
"""A rep that ends by turning into the next (no stop) has the velocity removed of the bin where it changed least,
from this many bins before the rep's end bin on (the pause between two reps; see ``_pause_velocity``)."""
DEDRIFT_BINS: Final = 240
"""At a zero-velocity update that is also still, the travel since the last update (at most 12 s ago) is
corrected for the velocity error left (sitting down: the accelerometer error as the pelvis swings through
35 deg left 15-20 cm)."""
DEDRIFT_TILT_DEG: Final = 5.0
"""... when the pose's tilt is within this of the rest pose's (|d pitch| + |d roll|)..."""
DEDRIFT_SWING_DEG: Final = 30.0
"""... after the excursion swung the tilt this far from rest (sit-to-stands 33-49 deg; squats 22-25 and step-ups
10-13 deg, whose travel it made worse)."""
STILL_GYR_RADPS: Final = 0.06
"""Still (for rest poses and holds) below this angular rate: slow reps turn at 0.1-0.2 rad/s."""
STILL_ACC_MPS2: Final = 0.2
STILL_BINS: Final = 4
Q_UNITS: Final = 0.5
"""Tolerance around a minimum of D (cm or deg) that still counts as "at rest"."""
BOUNDARY_SPEED: Final = 0.05
TURN_SLOW: Final = 0.05
"""The pause at the far end: near the peak and slower than this share of the rep's top speed."""
"""A rep starts and ends where the pose moves at less than this share of its fastest speed."""
SETTLE_S: Final = 0.15
STOP_SPEED: Final = 0.03
"""A rep ends where the pose moves at less than this share of the rep's top speed (and stays slow)..."""
GIVE_UP_S: Final = 0.35
"""... or, failing both, this long after the slowest moment of the return (keeps announcements prompt)."""
TURN_SPEED: Final = 0.3
"""... or where the pose speed had a minimum below this share and picks up again (the next rep starts)."""
NEAR_REST_SHARE: Final = 0.15
"""... or once the pose has been within this share of the peak distance from rest and slower than ``TURN_SPEED``
for ``SETTLE_S``, as long after the slowest moment (the end bin): back on all fours between fast donkey kicks the
pose jitters at 5-15 % of the top speed and the next kick creeps out, so their returns neither stopped nor turned
and gave up, announced 0.50-0.63 s after their end (docs/training.md, round 7c). The wait after the slowest
moment keeps it off returns still slowing down (cut before their stop: rep boundary error p95 +60 ms)."""
NEAR_REST_MAX_S: Final = 2.0
"""... for reps that reached their slowest bin within this long of their start (fast sets: 0.9-1.5 s a rep): the
slow return of a 4 s static lunge stops for a bin or two and creeps on to rest for another 0.2-0.3 s (the rule cut
it there: its end error median -0.13 -> -0.17 s on seeds 0-29)."""
POSTURE_CHANGE_S: Final = 2.0
TILT_CARRY_DEG: Final = 15.0
TILT_BACK_SHARE: Final = 0.25
"""An excursion whose tilt swung this far from rest (squats, deadlifts, bridges, sit-to-stands; not lunges or
step-ups, 3-13 deg) is on its way back once its tilt is back within this share of that swing, whatever the
integrated travel says: in fast sets the travel of one rep is 15-25 cm off (the acceleration read in a fast squat
is 0.85-0.9 of the truth's on the way down), and the return never came below half the peak distance. Once the tilt
has been back there (within ``NEAR_REST_MAX_S`` of the excursion's start: fast sets), going out again past this share
of the swing, the same way it swung, is the next rep (a turn), even where the travel says the pose is still far out:
a fast sit-to-stand lands on the seat for 0.01-0.1 s, and the landing leaves 0.3-1.3 m/s of velocity error, so the
pose speed there stayed above ``TURN_SPEED`` of its top speed and the travel drifted out again (fast seeds 196, 239,
290: 13 of 18, 16 of 20, 6 of 14; docs/training.md, round 9). A pose passing through a misplaced rest pose in a slow
rep (end to end seed 8, 5.5 s sit-to-stands) also turns its tilt near rest: there the excursion goes on."""
CAND_BACK_Z_CM: Final = 5.0
"""A movement away from a still far pose and from rest is a new start position only if it has not come back toward
the rest pose's height by this much: a step-up's way down from a 1 s pause on the step tilts the pelvis forward
(its bump) and looked like moving away from both, and its set was counted top to top (step_up 93.9 -> 100 % exact
on seeds 0-99); a hip thrust from its set-up rises further."""
MAX_REP_S: Final = 12.0
"""An excursion that has not come back after this long (and is not a still hold) is a new rest pose."""
HOLD_RETURN_S: Final = 2.5
"""... nor within this long after a hold (a squat held for 15 s, then back up: a hold, not a new rest pose)."""
HOLD_MAX_S: Final = 60.0
NO_HOLD_EXERCISES: Final = frozenset({"sit_to_stand", "step_up"})
"""Exercises whose far pose is standing: standing still after their set is a rest, not a hold."""
HOLDING_S: Final = 1.0
"""Still this long far from rest: maybe a hold, maybe a new start position (decided by what follows)."""
SET_H_SHARE: Final = 0.8
SET_REPS_KNOWN: Final = 2
"""Once a set has this many reps, a rep needs only this share of the posture's ``h_min`` (and 0.35 x the set's
median peak): slow donkey kicks peak at 5.0-6.8 against h_min 5 on all fours, and at 80-85 % of their range every
second one fell short."""
MIN_REP_S: Final = 0.6
SET_GAP_MIN_S: Final = 6.0
CLASSIFY_REPS: Final = 30
"""The classifier looks at the first 30 reps of a set (sets are rarely longer)."""
REST_LAG_BINS: Final = 30
"""On all fours between sets the rest pose follows the pose of 1.5 s ago (30 bins), not the start of a kick.

On all fours a rep that gave up (``GIVE_UP_S``) while the pelvis still moves (not still) ended mid-movement: its end
pose is not where the pelvis rests, so the next still pose (idle) becomes the rest pose, however far from it. There
the rest pose otherwise follows only still poses within 0.25 ``h_on`` (during a set) or the lagged pose (between
sets), and fidgeting before small donkey kicks left it mid-tilt: the last excursion of the fidgeting gave up while
the pelvis still tilted back (pitch 93.3; the still pose the kicks then started from 89.3, their tops 94.3-95.1), and
every kick read 2.8-4.8 from there against ``h_on`` 5 (seed 12025: 0 of 5; docs/training.md, round 13).

The stillness test also passes where slow fidgeting turns (the tilt still moving at 2-6 deg/s): if that still bin
was not a held pose (the tilt moved ``KICK_HOLD_DPS`` or more in one of the last ``KICK_HOLD_BINS`` bins), the next
held still bin (idle, before an excursion opens) sets the rest pose again. Fast kicks after a counted fidget (seed
622, fast: the rest pose at a fidget's turn, 3.9 deg from the pose held for 1.5 s before the set; kicks read below
``h_on`` from there, 15 of 22; round 18)."""
PROMPT_HOLD_S: Final = 0.05
"""Input may be held back this long once a rep may end at any moment (the pipeline's micro-batch)..."""
REST_HOLD_S: Final = 0.25
"""... and this long before a rep's end (at rest, on the way out): a rep ends and is announced after the batch
that holds its end bin, within this + the low-pass delay + ~0.14 s (bins, input chunks of ~0.1 s) <= 0.5 s."""

_B_LP, _A_LP = butter(2, LP_HZ / (FS_HZ / 2.0))
_ONES_STILL = np.ones(STILL_BINS)
_W_BP = 2.0 * math.pi * GAIT_BP_HZ
_B_BP, _A_BP = bilinear([1.0, 0.0], np.poly([-_W_BP, -_W_BP, -_W_BP]), fs=FS_HZ)
_LEAK_V = math.exp(-BIN_S / LEAK_V_TAU_S)
_LEAK_Z = math.exp(-BIN_S / LEAK_Z_TAU_S)

PRONE_TILT_DEG: Final = 60.0
"""Anterior tilt beyond which the pose uses the accelerometer's tilt (see ``_pose_tilt_deg``; on all fours it
is 90 +- 20 deg)."""

TILT_JUMP_DPS: Final = 30.0
TILT_JUMP_RATIO: Final = 3.0
TILT_JUMP_UPRIGHT_DEG: Final = 40.0
"""A bin whose tilt moves faster than this and than this many times the (low-passed) angular rate is a re-levelled
orientation estimate, not a movement (end to end, sitting down while labelled walking, then the calibration
re-levelled the seat to upright and the tilt's snap back read as the way back of a rep). Only near upright, where
the calibration re-levels: lying down, the orientation estimate's own settling is left alone."""

PRONE_RETURN: Final = 0.2
"""On all fours an excursion is a rep only if it ends within this share of its peak distance from its start."""

KICK_HOLD_DPS: Final = 1.0
KICK_HOLD_BINS: Final = 6
KICK_GO_SHARE: Final = 0.5
KICK_DIR_COS: Final = 0.8
"""Repeated kicks just under the threshold (on all fours, between sets; the "kick anchor", see ``_kick_anchor``).

The rest pose there follows the pose of 1.5 s ago (``REST_LAG_BINS``), and a first kick that stays just under
``h_on`` drags it toward its top; from then on it sits between the two ends of the kicks, which read below ``h_on``
at both (seed 11077: still on all fours at pitch 89.6, the first kick to 94.3, ``D`` 4.9 against 5.0; the rest pose
went to 92.1 within that kick and stayed mid-kick: 0 of 14). Kicks and fidgeting are the same size there, so the
cue is the repetition: the pelvis held a pose (its tilt moved less than ``KICK_HOLD_DPS`` for ``KICK_HOLD_BINS``
bins: a kick's pause at rest; fidgeting drifts on at 2-4 deg/s through the bins the stillness test passes), went
``SET_H_SHARE`` x ``h_on`` or more from it and came back to it (within ``PRONE_RETURN`` of that distance, held
again), and now goes out again the same way (``KICK_DIR_COS``, the cosine between the two directions) by
``KICK_GO_SHARE`` of the first excursion: the held pose is where the pelvis rests between kicks, and the rest pose
goes there (if it has drifted a quarter of ``h_on`` or more away). A far pose held for a hold (``hold_min_s``) or a
hold anywhere else starts over. The first kick is lost (it stayed under ``h_on``), the second and later count.
Fidgeting that held a pose, went kick-far, came back to it, held it and went the same way again: not on any
recorded range (docs/training.md, round 17)."""
_KICK_HOLD_STEP2: Final = (KICK_HOLD_DPS * BIN_S) ** 2

_IDLE: Final = 0
_OUT: Final = 1
_BACK: Final = 2


def _zupt_now(run: int, i: int, last_zupt: int, v: float, v_peak: float, tilting: bool, in_set: bool = False) -> bool:
    """Whether a quiet run of ``run >= ZUPT_SHORT_BINS`` bins up to bin ``i`` is a zero-velocity update now (see
    ``ZUPT_SHORT_BINS`` and ``ZUPT_DEFER_BINS``; ``tilting``: an excursion is open and the pose's tilt still moves,
    see ``ZUPT_TILTING_DPS``, or none is open yet and it moves steadily, see ``ZUPT_STEADY_DEG``; ``in_set``: an
    excursion and a set are open, the rest pose is upright and the tilt moves).

    A slow start out of a pause (round 7): while ``tilting`` and ``in_set``, a velocity below ``ZUPT_V_MPS`` no
    longer makes a quiet run an update by itself; the velocity must also have fallen below ``ZUPT_PEAK_SHARE`` of
    its peak since the last update (the pelvis slowed down: a stop), or the run must last ``ZUPT_BINS +
    ZUPT_TILTING_DEFER_BINS`` (1.1 s), as for faster velocities. That holds for an update going on, too (the
    velocity is 0 there, not below 80 % of a peak of 0), so a still update of a pause shorter than 1.1 s stops
    when the tilt starts to move. A static lunge's way up from the bottom or a step-up's way down from the step can
    start so slowly (0.01-0.1 m/s for 0.3-0.5 s, hardly any acceleration) that it passes the quiet test: the still
    update of the pause went on into it, or a new one came after 0.3 s at 0.06 m/s while the pelvis truly moved at
    0.13-0.17 m/s, and the velocity lost there turned the movement's slowing down into travel the other way (seed
    6088: 18 of 21, seed 2092: 1 of 4). Pauses of 1.1 s or more still update on into a slow start (see
    docs/training.md, round 7).
    """
    v_abs = -v if v < 0.0 else v
    if run < ZUPT_BINS:
        # a short quiet run: a stop after a fast movement that has slowed down (or the update goes on); shorter
        # still, only the pause test of fast sets (ZUPT_PAUSE_BINS) has passed: such a stop, never an update going on
        fast_stop = last_zupt >= 0 and v_peak >= ZUPT_SHORT_PEAK_MPS and v_abs < ZUPT_SHORT_SHARE * v_peak
        return fast_stop or (last_zupt == i - 1 and run >= ZUPT_SHORT_BINS)
    if last_zupt < 0 or v_abs < ZUPT_PEAK_SHARE * v_peak or (v_abs < ZUPT_V_MPS and not (tilting and in_set)):
        return True
    return run >= ZUPT_BINS + (ZUPT_TILTING_DEFER_BINS if tilting and v_abs < ZUPT_SLOW_V_MPS else ZUPT_DEFER_BINS)


def _pause_velocity(v_bins: FloatArray, k_end: int, v_peak: float) -> float:
    """The integrated vertical velocity left at the end of a fast rep that turned into the next without a stop.

    ``v_bins``: the velocity of the bins from ``TURN_V_BINS + 1`` before the rep's end bin (index ``k_end``) to the
    last one fed; ``v_peak``: the largest speed since the last zero-velocity update. The end bin is the pose's
    slowest moment, but with the tilt low-passed and pauses of 0-0.1 s the next rep's travel has often begun there
    (0.1-0.35 m/s of real velocity): the pause itself is where the velocity changed least, and what the integral
    holds there is its error. Only bins slower than ``ZUPT_SHORT_SHARE`` of the peak qualify (the middle of a
    movement changes little too, and so does a velocity held at ``V_MAX_MPS``).
    """
    a = max(k_end - TURN_V_BINS, 0)
    dv = np.abs(np.diff(v_bins))[a:]
    dv[np.abs(v_bins[a + 1 :]) >= ZUPT_SHORT_SHARE * v_peak] = np.inf
    k = int(np.argmin(dv))
    return float(v_bins[a + 1 + k]) if dv[k] < np.inf else float(v_bins[k_end])


def _zupt_bias(bias: float, a_vert: float, v: float, gap: int, last_zupt: int) -> float:
    """The vertical acceleration bias after a zero-velocity update in a bin of acceleration ``a_vert``, with
    velocity ``v`` left over ``gap`` bins after the last update (see ``ZUPT_VBIAS_GAIN``)."""
    if last_zupt >= 0 and ZUPT_VBIAS_MIN_BINS <= gap <= DEDRIFT_BINS:
        bias += ZUPT_VBIAS_GAIN * v / (gap * BIN_S)
    return bias + ZUPT_BIAS_GAIN * (a_vert - bias)


def _pose_tilt_deg(y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Anterior tilt and obliquity of the pose stream from low-passed bin channels.

    On all fours (gravity tilt beyond the prone threshold) they come from the gravity direction: there the pelvis
    moves slowly and little (donkey kicks: 6 deg), and the orientation estimate's gyroscope bias, learnt from
    "quiet" seconds that were really slow kicks, tilts it by several degrees and makes it jump at every bias
    update. Elsewhere (upright, lying) the orientation estimate, which fast movements do not disturb (both angles
    must say "on all fours": in a fast squat or sit-to-stand the specific force can point anywhere).
    """
    if 0 < y.shape[0] <= _FEW_ROWS:
        # a few bins (a live chunk): the same choice per bin on Python floats (about 8 numpy calls fewer)
        rows = y.tolist()
        use = [r[CH_PITCH_G] > PRONE_TILT_DEG and r[CH_PITCH] > PRONE_TILT_DEG for r in rows]
        pitch = [r[CH_PITCH_G] if g else r[CH_PITCH] for r, g in zip(rows, use, strict=True)]
        roll = [r[CH_ROLL_G] if g else r[CH_ROLL] for r, g in zip(rows, use, strict=True)]
        return np.array(pitch, dtype=np.float64), np.array(roll, dtype=np.float64)
    use_g = (y[:, CH_PITCH_G] > PRONE_TILT_DEG) & (y[:, CH_PITCH] > PRONE_TILT_DEG)
    return np.where(use_g, y[:, CH_PITCH_G], y[:, CH_PITCH]), np.where(use_g, y[:, CH_ROLL_G], y[:, CH_ROLL])


def _came_back(rep: FloatArray, peak: float) -> bool:
    """Whether an excursion on all fours ended where it started (buffer rows ``rep``, peak distance ``peak``).

    A donkey kick returns to its start pose (within 0.18 of its peak distance on seeds 0-59); fidgeting on hands
    and knees wanders off by as much as a small kick (5 deg) and mostly stops somewhere else (0.2-0.7).
    Elsewhere the reps are several times the threshold and every excursion counts.
    """
    posture = posture_of(float(rep[0, 3]))
    if posture is not PRONE:
        return True
    dz = (float(rep[-1, 2]) - float(rep[0, 2])) * posture.z_weight
    dp = float(rep[-1, 3]) - float(rep[0, 3])
    dr = float(rep[-1, 4]) - float(rep[0, 4])
    return math.sqrt(dz * dz + dp * dp + dr * dr) <= PRONE_RETURN * peak


_PACK_MIN: Final = 16


def _floats(values: list[float]) -> FloatArray:
    """``np.array(values)`` of a list of floats: the same doubles, bit for bit. Short lists through ``np.fromiter``
    (a third of the time of ``np.array``: no dtype and shape discovery per element), longer ones packed into the
    array's buffer by ``struct`` (~90 instructions a float against fromiter's ~200, which converts each one
    through numpy's scalar assignment; ``fromiter`` costs less below ``_PACK_MIN`` floats)."""
    n = len(values)
    if n <= _PACK_MIN:
        return np.fromiter(values, np.float64, n)
    out = np.empty(n)
    struct.pack_into(f"{n}d", out.data, 0, *values)
    return out


_FEW_ROWS: Final = 8
_VETO_MIN_BINS: Final = 4
"""The gait-veto fast path (``_gait_veto_run``) takes bins only while this many are left in the call: a live
chunk's one or two bins cost less in the per-bin loop than the fast path's set-up."""
_NO_ROWS: Final = np.zeros((0, 8))
_BULK_IDLE = True
"""Whether :meth:`RepStage._process` takes idle bins through the fast path ``_idle_run`` (tests compare both)."""
_IDLE_MIN_BINS: Final = 4
"""... only while this many bins are left in the call: a live chunk's one or two bins cost less in the per-bin
loop than the fast path's set-up (20-sample chunks: +0.5 % instructions with it)."""


class _PendingRows:
    """The ring-buffer rows of one call's bins not yet written (from bin ``j0`` of the call): time, tilt,
    obliquity, stillness and yaw come from the call's arrays, D, travel and vertical velocity from the per-bin loop
    (appending three floats per bin costs less than an 8-tuple per bin and its conversion). The yaw has no list
    (the per-bin loop never reads it): a few rows take it from its array."""

    __slots__ = ("cols", "d", "j0", "lists", "v", "z_cm")

    def __init__(
        self,
        cols: tuple[FloatArray, FloatArray, FloatArray, NDArray[np.bool_], FloatArray],
        lists: tuple[list[float], list[float], list[float], list[bool]],
    ) -> None:
        """``cols``: time, tilt, obliquity, stillness and yaw of the call's bins; ``lists``: the first four as
        lists."""
        self.cols = cols
        self.lists = lists
        self.j0 = 0
        self.d: list[float] = []
        self.z_cm: list[float] = []
        self.v: list[float] = []

    def take(self, j1: int) -> FloatArray:
        """The rows of bins ``j0..j1 - 1`` (those appended so far), and start again at ``j1``."""
        j0, n = self.j0, len(self.d)
        if n == 0:
            self.j0 = j1
            return _NO_ROWS
        if n <= _FEW_ROWS:
            # a few bins (a live chunk): one tuple per bin costs less than eight column copies
            j1 = j0 + n
            t_l, pitch_l, roll_l, still_l = self.lists
            t, pitch, roll, still = t_l[j0:j1], pitch_l[j0:j1], roll_l[j0:j1], still_l[j0:j1]
            yaw = self.cols[4][j0:j1].tolist()
            rows = np.array(
                [
                    (t_j, d, z_cm, p_j, r_j, 1.0 if s_j else 0.0, y_j, v)
                    for t_j, d, z_cm, p_j, r_j, s_j, y_j, v in zip(
                        t, self.d, self.z_cm, pitch, roll, still, yaw, self.v, strict=True
                    )
                ]
            )
            self.j0 = j1
            self.d.clear()
            self.z_cm.clear()
            self.v.clear()
            return rows
        t_a, pitch_a, roll_a, still_a, yaw_a = self.cols
        rows = np.empty((n, 8))
        rows[:, 0] = t_a[j0 : j0 + n]
        rows[:, 1] = _floats(self.d)
        rows[:, 2] = _floats(self.z_cm)
        rows[:, 3] = pitch_a[j0 : j0 + n]
        rows[:, 4] = roll_a[j0 : j0 + n]
        rows[:, 5] = still_a[j0 : j0 + n]
        rows[:, 6] = yaw_a[j0 : j0 + n]
        rows[:, 7] = _floats(self.v)
        self.j0 = j1
        self.d.clear()
        self.z_cm.clear()
        self.v.clear()
        return rows

    def pose(self, k: int) -> tuple[float, float, float]:
        """``(z_cm, pitch, roll)`` of the ``k``-th row not yet written."""
        j = self.j0 + k
        return self.z_cm[k], self.lists[1][j], self.lists[2][j]


@dataclass(slots=True)
class _SetState:
    t_start_s: float = 0.0
    t_last_end_s: float = 0.0
    reps: list[RepFeatures] = field(default_factory=list)
    sides: list[Side | None] = field(default_factory=list)
    durations_s: list[float] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)
    lateral_tilt_deg: list[float] = field(default_factory=list)
    amp: float = 0.0
    """Median peak of the set's reps (adaptive threshold)."""
    gap_s: float = 6.0
    """A pause this long ends the set: max(6 s, 2.5 x median rep time)."""
    n_reps: int = 0


class RepStage:
    """Streaming set / rep / hold detector over pelvis-frame chunks (a ``PelvisStage``).

    Args:
        declared_exercise: the exercise the user says they do; tightens thresholds and fixes the label.
        hold_min_s: a turn held still this long or longer is a hold, not a rep.
        classifier: the exercise classifier (default: the nearest-centroid one of :mod:`.exercise`).
        on_set: called with every set event and its classifier feature vector (used to train the classifier).

    Feed chunks with :meth:`feed`; call :meth:`finish` at the end of the stream. The state holds filter states,
    a bounded ring buffer of derived pose values (120 s at 20 Hz) and per-set summaries, never input samples
    beyond one unfinished 50 ms bin.
    """

    def __init__(
        self,
        *,
        declared_exercise: Exercise | None = None,
        hold_min_s: float = 3.0,
        classifier: ExerciseClassifier | None = None,
        on_set: Callable[[SetEvent, FloatArray], None] | None = None,
    ) -> None:
        self.declared_exercise: Exercise | None = declared_exercise
        self.hold_min_s = hold_min_s
        self.classifier = classifier or ExerciseClassifier()
        self.on_set = on_set
        self._bins = BinAverager()
        self._zi_lp: FloatArray | None = None
        self._zi_bp: FloatArray | None = None
        self._a_slow: float | None = None
        self._a_delay: FloatArray | None = None
        self._acc_bias = 0.0
        self._gait_run = 0.0
        self._prev = (0.0, 0.0, 0.0)
        self._vmax = 0.0
        self._smin = 0.0
        self._i_stop = -1
        self._t_stop = 0.0
        self._t_near = -1.0  # since when the pose is back near rest and slow (see NEAR_REST_SHARE), or -1
        self._tilt_was_back = False  # on the way back, the tilt has been back near rest (see TILT_BACK_SHARE)
        self._quiet_tail = np.zeros((ZUPT_BINS - 1, 2))
        self._quiet_run = 0  # quiet bins (zero-velocity test) in a row up to the last bin
        self._pause_tail = np.zeros(A_DELAY_BINS, dtype=bool)  # the last pause flags not yet due (_pause_runs)
        self._pause_run = 0  # pause bins in a row up to the last bin (see ZUPT_PAUSE_BINS)
        self._v_peak = 0.0  # the largest |vertical velocity| since the last zero-velocity update, m/s
        self._i_zupt = -1  # absolute index of the last zero-velocity update
        self._zupt_run = 0  # the quiet run at the last zero-velocity update, bins (see ZUPT_REST_BINS)
        self._bias_posture: Posture | None = None  # the posture of the last long still run (see ZUPT_MEAN_BINS)
        self._mean_from = -1  # the start bin of the quiet run whose updates are averaged, or -1
        self._mean_sum = 0.0  # the sum of their vertical acceleration (m/s^2) and their number
        self._mean_n = 0
        # an update going on while the tilt moves (see ZUPT_RESTORE_DEG): its bins, the velocity (m/s) and travel (m)
        # integrated meanwhile, the tilt and obliquity where it began to move
        self._hs_n = 0
        self._hs_v = 0.0
        self._hs_z = 0.0
        self._hs_tilt = (0.0, 0.0)
        self._v = 0.0
        self._z = 0.0
        # ring buffer of derived values (t, D, z_cm, pitch, roll, still, yaw, vertical velocity m/s)
        self._buf = np.zeros((BUF_N, 8))
        self._n = 0  # bins written so far (absolute index of the next bin)
        self._mode = _IDLE
        self._rest = [0.0, 0.0, 0.0]  # (z_cm, pitch, roll) as Python floats: cheap scalar arithmetic per bin
        self._rest_valid = False
        self._rest_from_still = False  # the next still bin (idle) sets the rest pose (see REST_LAG_BINS)
        self._rest_from_hold = False  # ... and it was not held: the next held still bin does too (REST_LAG_BINS)
        # the kick anchor (see KICK_GO_SHARE): the last bin it followed, the tilt of that bin and how many bins in a
        # row it held; the held pose (last held bin, -1: none yet), the farthest tilt from it and its distance, since
        # when a far pose is held; the last excursion from a held pose and back to it (start, far tilt, distance)
        self._ka_last = -2
        self._ka_prev = (0.0, 0.0)
        self._ka_held = 0
        self._ka_i = -1
        self._ka = (0.0, 0.0)
        self._ka_far = (0.0, 0.0)
        self._ka_far_d = 0.0
        self._ka_top_since = -1.0
        self._ka_trip_from = (0.0, 0.0)
        self._ka_trip_far = (0.0, 0.0)
        self._ka_trip_d = 0.0
        self._dmin = math.inf
        self._i_low = 0  # absolute index: last bin within q of the running minimum (IDLE)
        self._t_on = 0.0  # start of the excursion (moved forward by holds, see HOLD_RETURN_S)
        self._t_min = 0.0
        self._peak = 0.0
        self._peak_full = 0.0
        self._swing2 = 0.0  # the largest squared tilt distance from rest in the excursion
        self._swing_dp = 0.0  # the tilt and obliquity from rest where it was largest (its direction)
        self._swing_dr = 0.0
        self._i_peak = 0
        self._peak_wz = 0.0  # the weighted travel from rest (cm) at the peak: its share of D and its side of rest
        self._rest_slow = True  # the rest pose was set where the pelvis had slowed down (see the BACK state)
        self._i_min = 0
        self._still_far_since = -1.0
        self._hold_judged = -1.0  # the still_far_since of the hold last judged by _holds_set_pose
        self._hold_of_set = False
        self._other_class_since = -1.0
        self._cand = [0.0, 0.0, 0.0]
        self._cand_valid = False
        self._i_cand = 0
        self._set: _SetState | None = None

    # ------------------------------------------------------------------ public
    @property
    def max_hold_s(self) -> float:
        """How long the pipeline may hold input back before feeding it here (its micro-batching; see stage.py).

        Reps are announced within 0.5 s of their end bin (``t_end_s`` plus the low-pass delay) when every batch
        lasts at most ``REST_HOLD_S`` plus the time from the input fed so far to the earliest bin where a rep
        could still end (down to ``PROMPT_HOLD_S``, every input chunk). That bin is not before the unfinished bin
        (at rest and on the way out), nor before the slowest moment of the return or the stop (on the way back:
        a rep ends there or later), nor within ``MIN_REP_S`` of the last bin at rest (reps start there or later
        and last that long). During gait (the veto holds) nothing can start before the gait has ended.
        """
        if self._mode == _IDLE and self._gait_run >= GAIT_VETO_S:
            return math.inf
        if self._n == 0:
            return REST_HOLD_S
        t_fed = float(self._buf[(self._n - 1) % BUF_N, 0]) + BIN_S  # the unfinished bin
        a = max(self._i_low, self._n - BUF_N + 1)
        t_end_min = float(self._buf[a % BUF_N, 0]) + MIN_REP_S - 0.5 * BIN_S
        if self._mode == _BACK:
            t_end_min = max(t_end_min, self._t_min if self._i_stop < 0 else min(self._t_min, self._t_stop))
        else:
            t_end_min = max(t_end_min, t_fed)
        return max(PROMPT_HOLD_S, REST_HOLD_S + t_end_min - t_fed)

    def feed(self, chunk: PelvisChunk) -> list[Event]:
        """Process one chunk; return the events completed in it."""
        if len(chunk) == 0 or chunk.roll_deg is None:
            # accelerometer-only input has no orientation: reps are not counted
            return []
        t_bin, x_bin = self._bins.feed_columns(chunk.t_s, chunk_columns(chunk))
        return self._process(t_bin, x_bin)

    def finish(self) -> list[Event]:
        """Flush the unfinished bin, a rep that is returning to rest, and the open set."""
        t_bin, x_bin = self._bins.feed(np.zeros(0), np.zeros((0, RAW_W)), final=True)
        out = self._process(t_bin, x_bin)
        if self._mode == _BACK and self._n > 0:
            out.extend(self._complete_rep(self._i_min))
        self._mode = _IDLE
        out.extend(self._end_set())
        return out

    # ------------------------------------------------------------------ internals
    def _filters(
        self, x: FloatArray
    ) -> tuple[FloatArray, NDArray[np.int_], NDArray[np.bool_], FloatArray, NDArray[np.int_]]:
        """Low-passed channels, the length of the quiet run up to each bin, the stillness flag and the band-passed
        vertical displacement (cm, see ``GAIT_Z_CM``) for a run of bins.

        Quiet: no rotation and no vertical acceleration beyond the slowly varying bias; a run of ``ZUPT_BINS`` or
        more is a zero-velocity update (see ``ZUPT_V_MPS``). Still: the low-passed angular rate and the bin's
        vertical acceleration are small in this bin and the ``STILL_BINS - 1`` before it (so that a zero-velocity
        update never cuts a movement's tail).
        """
        if self._zi_lp is None:
            self._zi_lp = lfilter_zi(_B_LP, _A_LP)[:, None] * x[0][None, :]
        y, self._zi_lp = lfilter_zi_call(_B_LP, _A_LP, x, 0, self._zi_lp)
        a_vert = x[:, CH_A_VERT]
        if self._a_slow is None:
            self._a_slow = float(a_vert[0])
        # quiet: no rotation and no vertical acceleration beyond the slowly varying bias
        errs: list[float] = []
        err = errs.append
        slow, alpha, step = self._a_slow, SLOW_ALPHA, SLOW_STEP_MPS2
        lo, up, down = -step, alpha * step, alpha * -step  # a step of +-step moves slow by +-alpha * step
        for a in a_vert.tolist():
            e = a - slow
            err(e)
            if lo < e < step:
                slow += alpha * e
            elif e > 0.0:
                slow += up
            else:
                slow += down  # NaN included
        self._a_slow = slow
        if x.shape[0] <= _FEW_ROWS:
            runs, still, pauses = self._quiet_runs_few(y[:, CH_GYR].tolist(), x[:, CH_GYR].tolist(), errs)
        else:
            runs, still, pauses = self._quiet_runs(y[:, CH_GYR], x[:, CH_GYR], np.abs(_floats(errs)))
        if self._zi_bp is None:
            self._zi_bp = lfilter_zi(_B_BP, _A_BP) * x[0, CH_A_VERT]
        z_bp, self._zi_bp = lfilter_zi_call(_B_BP, _A_BP, a_vert, 0, self._zi_bp)
        return y, runs, still, np.abs(z_bp) * CM_PER_M, pauses

    def _quiet_runs(
        self, gyr: FloatArray, gyr_bin: FloatArray, dev: FloatArray
    ) -> tuple[NDArray[np.int_], NDArray[np.bool_], NDArray[np.int_]]:
        """The quiet run up to each bin, the stillness flag and the pause run (see :meth:`_filters`) from the
        low-passed and the bins' own angular rate magnitude and the acceleration's deviation from its slow bias."""
        tail = self._quiet_tail
        q = np.empty((tail.shape[0] + gyr.shape[0], 2))  # the last ZUPT_BINS - 1 flags of before, then these
        q[: tail.shape[0]] = tail
        q[tail.shape[0] :, 0] = (gyr < ZUPT_GYR_RADPS) & (dev < ZUPT_ACC_MPS2)
        q[tail.shape[0] :, 1] = (gyr < STILL_GYR_RADPS) & (dev < STILL_ACC_MPS2)
        run_s = np.convolve(q[:, 1], _ONES_STILL, mode="valid")
        self._quiet_tail = q[q.shape[0] - (ZUPT_BINS - 1) :]
        # a slow movement has little acceleration in its middle: only a long quiet run means zero velocity
        quiet = q[tail.shape[0] :, 0] > 0.5
        k = np.arange(1, quiet.size + 1)
        last_loud = np.maximum.accumulate(np.where(quiet, 0, k))  # 1 + index of the last loud bin, 0: none yet
        runs = np.where(last_loud == 0, self._quiet_run + k, k - last_loud)
        self._quiet_run = int(runs[-1])
        pauses = self._pause_runs(gyr_bin < ZUPT_GYR_RADPS, dev < ZUPT_ACC_MPS2)
        still: NDArray[np.bool_] = run_s[ZUPT_BINS - STILL_BINS :] >= STILL_BINS - 0.5
        return runs, still, pauses

    def _quiet_runs_few(
        self, gyr: list[float], gyr_bin: list[float], errs: list[float]
    ) -> tuple[NDArray[np.int_], NDArray[np.bool_], NDArray[np.int_]]:
        """:meth:`_quiet_runs` for a few bins (a live chunk), bin by bin on Python values: the same flags and
        run lengths (comparisons and counts only) without its ~25 numpy calls."""
        tail = self._quiet_tail.tolist()  # the last ZUPT_BINS - 1 (quiet, still) flags, as 0.0 / 1.0
        pause_flags = self._pause_tail.tolist()  # pause flags not yet due (A_DELAY_BINS back)
        run = self._quiet_run
        run_p = self._pause_run
        runs: list[int] = []
        still: list[bool] = []
        pauses: list[int] = []
        for g, g_bin, e in zip(gyr, gyr_bin, errs, strict=True):
            dev = abs(e)
            quiet = g < ZUPT_GYR_RADPS and dev < ZUPT_ACC_MPS2
            tail.append([1.0 if quiet else 0.0, 1.0 if g < STILL_GYR_RADPS and dev < STILL_ACC_MPS2 else 0.0])
            run = run + 1 if quiet else 0
            runs.append(run)
            still.append(all(f[1] > 0.5 for f in tail[-STILL_BINS:]))  # STILL_BINS still bins in a row
            pause_flags.append(g_bin < ZUPT_GYR_RADPS and dev < ZUPT_ACC_MPS2)
            run_p = run_p + 1 if pause_flags[-1 - A_DELAY_BINS] else 0
            pauses.append(run_p)
        self._quiet_tail = np.array(tail[len(tail) - (ZUPT_BINS - 1) :])
        self._quiet_run = run
        self._pause_tail = np.array(pause_flags[len(pause_flags) - A_DELAY_BINS :])
        self._pause_run = run_p
        return np.array(runs), np.array(still), np.array(pauses)

    def _pause_runs(self, gyr_quiet: NDArray[np.bool_], acc_quiet: NDArray[np.bool_]) -> NDArray[np.int_]:
        """The length of the pause run up to each bin (see ``ZUPT_PAUSE_BINS``): the quiet test on the bins' own
        angular rate and acceleration, ``A_DELAY_BINS`` back (where the integrated velocity is)."""
        flags = np.concatenate([self._pause_tail, gyr_quiet & acc_quiet])
        self._pause_tail = flags[flags.size - A_DELAY_BINS :]
        due = flags[: gyr_quiet.size]
        k = np.arange(1, due.size + 1)
        last_loud = np.maximum.accumulate(np.where(due, 0, k))
        pause = np.where(last_loud == 0, self._pause_run + k, k - last_loud)
        self._pause_run = int(pause[-1])
        return pause

    def _h_min(self) -> float:
        return posture_of(self._rest[1]).h_min

    def _h_on(self, h_min: float | None = None) -> float:
        """The excursion a rep needs: ``h_min`` of the posture (of the rest pose, unless given), ``SET_H_SHARE`` of
        it once the open set has ``SET_REPS_KNOWN`` reps, and at least 0.35 x the set's median peak."""
        if h_min is None:
            h_min = self._h_min()
        st = self._set
        if st is None:
            return h_min
        floor = SET_H_SHARE * h_min if st.n_reps >= SET_REPS_KNOWN else h_min
        return max(floor, 0.35 * st.amp)

    def _process(self, t_bin: FloatArray, raw_bin: FloatArray) -> list[Event]:
        out: list[Event] = []
        if t_bin.size == 0:
            return out
        x_bin = bin_channels(raw_bin)
        y, runs_arr, still_arr, z_bp_arr, pauses_arr = self._filters(x_bin)
        runs = runs_arr.tolist()
        pauses = pauses_arr.tolist()
        ts = t_bin.tolist()
        a_raw = x_bin[:, CH_A_VERT]
        if self._a_delay is None:
            self._a_delay = np.full(A_DELAY_BINS, float(a_raw[0]))
        a_cat = np.concatenate([self._a_delay, a_raw])
        self._a_delay = a_cat[a_cat.size - A_DELAY_BINS :]
        a_arr = a_cat[: a_raw.size]
        avs = a_arr.tolist()
        pitch_arr, roll_arr = _pose_tilt_deg(y)
        ps = pitch_arr.tolist()
        rs = roll_arr.tolist()
        stills = still_arr.tolist()
        gaits = (y[:, CH_GAIT] > 0.5).tolist()
        gyrs = np.degrees(y[:, CH_GYR]).tolist()
        z_bps = z_bp_arr  # read in gait-labelled bins only (the veto takes most): no list
        # the buffer rows of the bins not yet written: those from the arrays now, D, travel and velocity per bin
        rows = _PendingRows((t_bin, pitch_arr, roll_arr, still_arr, y[:, CH_YAW]), (ts, ps, rs, stills))
        put_d, put_z, put_v = rows.d.append, rows.z_cm.append, rows.v.append
        n0 = self._n
        v, z, bias = self._v, self._z, self._acc_bias
        gait_run = self._gait_run
        last_zupt = self._i_zupt
        v_peak = self._v_peak
        prev = self._prev
        rest = self._rest
        idle_from = 0  # the idle fast path stopped before bin idle_from - 1: the state machine does that one
        bins = enumerate(ts)
        for j, t in bins:
            if (
                gait_run >= GAIT_VETO_S
                and self._mode == _IDLE
                and self._set is None
                and self._rest_valid
                and len(ts) - j >= _VETO_MIN_BINS
            ):
                self._write_rows(rows.take(j))
                self._v_peak = v_peak
                j_next, v, z, bias, gait_run, prev, last_zupt = self._gait_veto_run(
                    j,
                    t_bin,
                    y,
                    a_arr,
                    (ps, rs),
                    pitch_arr,
                    roll_arr,
                    still_arr,
                    (runs_arr, pauses_arr),
                    v,
                    z,
                    bias,
                    gait_run,
                    prev,
                    last_zupt,
                )
                v_peak = self._v_peak
                if j_next > j:
                    rows.j0 = j_next
                    skip = j_next - j - 1  # the bins the fast path did
                    next(islice(bins, skip, skip), None)
                    continue
            if (
                _BULK_IDLE
                and self._mode == _IDLE
                and j >= idle_from
                and gait_run < GAIT_VETO_S
                and self._rest_valid
                and len(ts) - j >= _IDLE_MIN_BINS
            ):
                j_next, v, z, bias, gait_run, prev, last_zupt, v_peak = self._idle_run(
                    j,
                    n0,
                    (ts, ps, rs, stills, runs, pauses, avs, gaits, gyrs),
                    z_bps,
                    rows,
                    (v, z, bias, gait_run, last_zupt, v_peak),
                    prev,
                )
                idle_from = j_next + 1
                if j_next > j:
                    skip = j_next - j - 1  # the bins the fast path did
                    next(islice(bins, skip, skip), None)
                    continue
            pitch = ps[j]
            roll = rs[j]
            still = stills[j]
            # vertical travel: zero-velocity updates and bias learning while still, a slow leak otherwise. No fast
            # leak between reps: a rep is still "between reps" until it has moved h_min away from rest, and a fast
            # leak there took the first 10-20 % of its velocity away (travel came back 10-30 cm off, and the rest
            # pose ended up at the far end); walking, which never stops, holds travel still instead (gait veto)
            run = runs[j]
            if (run >= ZUPT_SHORT_BINS or pauses[j] >= ZUPT_PAUSE_BINS) and _zupt_now(
                run,
                n0 + j,
                last_zupt,
                v,
                v_peak,
                (
                    tilting := n0 + j - last_zupt <= ZUPT_TILTING_MAX_BINS
                    and (pitch - prev[1]) ** 2 + (roll - prev[2]) ** 2 > _TILTING_STEP2
                    and (
                        self._mode != _IDLE
                        or (run >= ZUPT_BINS and self._steady_start(n0 + j, rows, pitch, roll, v, rest[1]))
                    )
                ),
                tilting and self._mode != _IDLE and self._set is not None and posture_of(rest[1]) is UPRIGHT,
            ):
                # the travel integrated while the update was deferred (since the run began or, if an update that went
                # on into the run was stopped by a slow start, see _zupt_now, since that update)
                run_int = run if last_zupt < 0 else min(run, n0 + j - last_zupt)
                if last_zupt != n0 + j - 1 and run_int > ZUPT_BINS:
                    z -= v * (run_int - ZUPT_BINS) * BIN_S
                if (
                    self._mode == _OUT
                    and stills[j]
                    and 1 < n0 + j - last_zupt <= DEDRIFT_BINS
                    and last_zupt >= 0
                    and abs(pitch - rest[1]) + abs(roll - rest[2]) < DEDRIFT_TILT_DEG
                    and self._swing2 > DEDRIFT_SWING_DEG**2
                ):
                    # the pelvis has come to rest with the tilt of the rest pose after a large tilt swing (sat
                    # down again; the accelerometer's errors project differently as it swings): the velocity
                    # left is integration error, grown about linearly since the last update, and the travel is
                    # off by half of it times that time
                    z -= 0.5 * v * (n0 + j - last_zupt) * BIN_S
                if (
                    last_zupt == n0 + j - 1
                    and (pitch - prev[1]) ** 2 + (roll - prev[2]) ** 2 > _TILTING_STEP2
                    and posture_of(rest[1]) is UPRIGHT
                ):
                    # an update going on while the tilt moves: what the bin would integrate (ZUPT_RESTORE_DEG)
                    if self._hs_n == 0:
                        self._hs_tilt = (prev[1], prev[2])
                    self._hs_n += 1
                    self._hs_v = _LEAK_V * self._hs_v + (avs[j] - bias) * BIN_S
                    self._hs_z += self._hs_v * BIN_S
                else:
                    self._hs_n = 0
                    self._hs_v = self._hs_z = 0.0
                # (a pause update learns no bias from the velocity left: gap 0, see ZUPT_PAUSE_BINS)
                gap = n0 + j - last_zupt if run >= ZUPT_SHORT_BINS else 0
                bias = _zupt_bias(bias, avs[j], v, gap, last_zupt)
                if run >= ZUPT_BINS and still and (pitch - prev[1]) ** 2 + (roll - prev[2]) ** 2 <= _TILTING_STEP2:
                    # still in a posture whose bias is stale (or averaged in this run): their mean (ZUPT_MEAN_BINS)
                    posture_now = posture_of(pitch)
                    if self._bias_posture is None:
                        self._bias_posture = posture_now  # the stream's first: learnt as before
                    if self._mean_from == n0 + j - run + 1 or posture_now is not self._bias_posture:
                        if self._mean_from != n0 + j - run + 1:
                            self._mean_from, self._mean_sum, self._mean_n = n0 + j - run + 1, 0.0, 0
                        self._mean_sum += avs[j]
                        self._mean_n += 1
                        if self._mean_n >= ZUPT_MEAN_BINS:
                            self._bias_posture = posture_now
                            if posture_now.z_weight > 0.0:
                                bias = self._mean_sum / self._mean_n
                v = 0.0
                v_peak = 0.0
                last_zupt = n0 + j
                self._zupt_run = run
            else:
                if self._hs_n:
                    if (
                        last_zupt == n0 + j - 1
                        and ZUPT_RESTORE_MIN_BINS <= self._hs_n <= ZUPT_RESTORE_MAX_BINS
                        and (pitch - self._hs_tilt[0]) ** 2 + (roll - self._hs_tilt[1]) ** 2 >= _RESTORE_STEP2
                    ):
                        # the update that ends here went on into a slow start: give its velocity and travel back
                        v = self._hs_v
                        z += self._hs_z
                    self._hs_n = 0
                    self._hs_v = self._hs_z = 0.0
                v = _LEAK_V * v + (avs[j] - bias) * BIN_S
                v = v if v > -V_MAX_MPS else -V_MAX_MPS  # min(V_MAX_MPS, max(-V_MAX_MPS, v)), NaN included
                v = v if v < V_MAX_MPS else V_MAX_MPS
                v_abs = -v if v < 0.0 else v
                v_peak = v_abs if v_abs > v_peak else v_peak  # max(v_peak, v_abs), in fewer steps
                # travel leaks toward the rest pose's height, not toward an arbitrary zero: after a posture
                # change has thrown the integral far off, the rest pose moves there and no slow return follows
                z_rest = rest[0] / CM_PER_M
                z = z_rest + _LEAK_Z * (z - z_rest) + v * BIN_S
            z_cm = z * CM_PER_M
            if not self._rest_valid:
                rest[:] = (z_cm, pitch, roll)
                self._rest_valid = True
            qz = z_cm - prev[0]
            qp = pitch - prev[1]
            qr = roll - prev[2]
            st = self._set
            # walking or running needs an upright pelvis: on the floor, or hinged far forward during a set (fast
            # Romanian deadlifts), a gait label is a fast set
            gait_run = gait_run + BIN_S if gaits[j] and self._gait_posture(pitch, st is not None, z_bps[j]) else 0.0
            if gait_run < GAIT_VETO_S and -TILT_JUMP_UPRIGHT_DEG < pitch < TILT_JUMP_UPRIGHT_DEG:
                jump_dps = TILT_JUMP_RATIO * gyrs[j]
                jump_dps = jump_dps if jump_dps > TILT_JUMP_DPS else TILT_JUMP_DPS  # max(TILT_JUMP_DPS, ...)
                if (qp * qp + qr * qr) * FS_HZ * FS_HZ > jump_dps**2:
                    # the tilt moved faster than the pelvis turned: the orientation estimate was re-levelled (the
                    # automatic calibration on a quiet period), not a movement; the rest pose moves with it
                    rest[1] += qp
                    rest[2] += qr
                    qp = qr = 0.0
            dz = z_cm - rest[0]
            dp = (pitch - rest[1] + 180.0) % 360.0 - 180.0
            dr = roll - rest[2]
            tilt2 = dp * dp + dr * dr
            posture = posture_of(rest[1])
            wz = posture.z_weight
            d = math.sqrt(wz * wz * dz * dz + tilt2)
            # the pose's speed and the full distance (travel unweighted: it only decides whether a held pose was a
            # new start position) are computed where they are used (not at rest)
            prev = (z_cm, pitch, roll)
            i = n0 + j
            put_d(d)
            put_z(z_cm)
            put_v(v)
            mode = self._mode
            if gait_run >= GAIT_VETO_S:
                self._mode = _IDLE
                if st is not None:
                    out.extend(self._end_set())
                # walking has no net vertical travel, and its integral is mostly error (the orientation
                # filter tilts with every step): hold travel at the rest height instead of letting it run away
                v = 0.0
                z = rest[0] / CM_PER_M
                self._track_rest(z_cm, pitch, roll, 0.05)
                self._dmin = d
                self._i_low = i
                continue
            if mode == _IDLE:
                h_on = self._h_on(posture.h_min)
                if d > h_on:
                    self._mode = _OUT
                    self._rest_from_hold = False
                    self._cand_valid = False
                    self._vmax = math.sqrt(qz * qz + qp * qp + qr * qr) * FS_HZ
                    self._t_on = t
                    self._peak = d
                    self._peak_wz = wz * dz
                    self._peak_full = math.sqrt(dz * dz + tilt2)
                    self._swing2 = tilt2
                    self._swing_dp = dp
                    self._swing_dr = dr
                    self._i_peak = i
                    self._still_far_since = -1.0
                    self._other_class_since = -1.0
                    continue
                if st is not None and t - st.t_last_end_s > st.gap_s:
                    out.extend(self._end_set())
                    st = None
                if st is None and posture is PRONE and self._kick_anchor(i, t, pitch, roll, h_on, rest):
                    # a kick again from the pose held between kicks: the rest pose goes there (KICK_GO_SHARE)
                    self._write_rows(rows.take(j + 1))
                    self._rest_to_anchor()
                    continue
                # the rest pose follows sway and drift, never the start of a (slow) movement
                if still and self._rest_from_still:
                    # a rep gave up mid-movement (see REST_LAG_BINS): the pelvis rests here
                    self._rest_from_still = False
                    self._rest_from_hold = not self._tilt_held(i, rows, pitch, roll)
                    rest[:] = (z_cm, pitch, roll)
                elif still and self._rest_from_hold and self._tilt_held(i, rows, pitch, roll):
                    # ... or there, where it then holds its tilt (REST_LAG_BINS)
                    self._rest_from_hold = False
                    rest[:] = (z_cm, pitch, roll)
                elif still and d < 0.25 * h_on:
                    self._track_rest(z_cm, pitch, roll, 0.1)
                elif st is None and d < h_on:
                    # between sets it also follows fidgeting; on all fours with a lag, toward the pose of 1.5 s
                    # ago: a donkey kick is hardly larger than the threshold and must not drag it along on its
                    # way out
                    if h_on == PRONE.h_min:
                        self._track_rest(*self._pose_ago(i, rows, REST_LAG_BINS), 0.02)
                    else:
                        self._track_rest(z_cm, pitch, roll, 0.02)
                self._dmin = d if d < self._dmin else self._dmin
                if d <= self._dmin + Q_UNITS:
                    self._i_low = i
                continue
            speed = math.sqrt(qz * qz + qp * qp + qr * qr) * FS_HZ
            if mode == _OUT:
                d_full = math.sqrt(dz * dz + tilt2)
                if d > self._peak:
                    self._peak = d
                    self._peak_wz = wz * dz
                    self._i_peak = i
                if tilt2 > self._swing2:
                    self._swing2 = tilt2
                    self._swing_dp = dp
                    self._swing_dr = dr
                self._peak_full = max(self._peak_full, d_full)
                # a new posture (lying down, kneeling): the other class for POSTURE_CHANGE_S
                if posture_of(pitch).name != posture.name:  # (_posture_changed)
                    if self._other_class_since < 0:
                        self._other_class_since = t
                    elif t - self._other_class_since >= POSTURE_CHANGE_S:
                        out.extend(self._posture_change(i, z_cm, pitch, roll))
                        continue
                else:
                    self._other_class_since = -1.0
                # still near the far end: a hold (up to HOLD_MAX_S); moving about far from rest for longer
                # than a rep lasts: a new rest pose (sat down, fidgeting)
                if still and d > 0.7 * self._peak:
                    if self._still_far_since < 0:
                        self._still_far_since = t
                else:
                    self._still_far_since = -1.0
                holding = self._still_far_since >= 0 and t - self._still_far_since >= HOLDING_S
                if holding:
                    # maybe a hold, maybe a new start position (hip thrust set-up, sitting down): remember it
                    if t - self._still_far_since >= self.hold_min_s:
                        if self._hold_judged != self._still_far_since:  # judged once per hold
                            self._hold_judged = self._still_far_since
                            self._hold_of_set = self._holds_set_pose(z_cm, pitch, roll)
                        if self._hold_of_set:
                            # a hold at the far pose of the set's reps: its way back must start within
                            # HOLD_RETURN_S
                            self._t_on = max(self._t_on, t - MAX_REP_S + HOLD_RETURN_S)
                    if st is None or t - self._still_far_since >= self.hold_min_s:
                        # during a set a still far pose shorter than a hold is the set's own far pause (a step-up
                        # waits on the step): its tilt bump on the way down looked like a new start position
                        self._cand[:] = (z_cm, pitch, roll)
                        self._i_cand = i
                        self._cand_valid = True
                elif self._cand_valid and not still:
                    cz = z_cm - self._cand[0]
                    cp = (pitch - self._cand[1] + 180.0) % 360.0 - 180.0
                    cr = roll - self._cand[2]
                    dc = math.sqrt(cz * cz + cp * cp + cr * cr)
                    # moving away from both (judged all the way, not only at the first step: a hip thrust's
                    # top is as tilted as lying flat, only higher): the held pose was a new start position, and
                    # this is the first rep from it
                    away = max(self._peak_full - 0.5 * dc, 0.75 * self._peak_full)
                    back_z = abs(self._cand[0] - rest[0]) - abs(dz)  # how far it came back toward rest's height
                    if dc > max(posture_of(self._cand[1]).h_min, 8.0) and d_full >= away and back_z < CAND_BACK_Z_CM:
                        self._cand_valid = False
                        self._write_rows(rows.take(j + 1))
                        out.extend(self._rebase(i, t))
                        continue
                if abs(dz) > Z_MAX_CM:
                    if st is not None and posture_of(pitch) is posture:
                        # drift during a set (see Z_MAX_CM): the travel back to the rest pose's height (this bin's
                        # row and the previous pose too: the next bin's speed must not read the reset as motion),
                        # the velocity that drove it there to zero; the set and the rest pose stay
                        self._cand_valid = False
                        self._mode = _IDLE
                        z = rest[0] / CM_PER_M
                        v = 0.0
                        d = math.sqrt(tilt2)
                        rows.d[-1] = d
                        rows.z_cm[-1] = rest[0]
                        prev = (rest[0], pitch, roll)
                        self._reset_min(i, d)
                    else:
                        out.extend(self._posture_change(i, z_cm, pitch, roll))
                    continue
                if (holding and t - self._still_far_since > HOLD_MAX_S) or (not holding and t - self._t_on > MAX_REP_S):
                    out.extend(self._posture_change(i, z_cm, pitch, roll))
                    continue
                self._vmax = max(self._vmax, speed)
                tilt_back = self._swing2 >= TILT_CARRY_DEG**2 and tilt2 < TILT_BACK_SHARE**2 * self._swing2
                if d < 0.5 * self._peak or tilt_back:
                    self._mode = _BACK
                    self._tilt_was_back = tilt_back and t - self._t_on <= NEAR_REST_MAX_S
                    self._i_stop = -1
                    self._t_near = -1.0
                    self._smin = speed
                    self._i_min = i
                    self._t_min = t
                continue
            # _BACK: wait for the pelvis to stop (or turn) at the end of the rep. Turned: the pose slowed below
            # TURN_SPEED of its top speed and picks up again (the next rep starts; a new speed minimum below the
            # one so far is no pick-up)
            turned = self._smin <= TURN_SPEED * self._vmax and speed >= self._smin + 0.15 * self._vmax
            tilt_back = self._swing2 >= TILT_CARRY_DEG**2 and tilt2 < TILT_BACK_SHARE**2 * self._swing2
            if tilt_back:
                self._tilt_was_back = self._tilt_was_back or t - self._t_on <= NEAR_REST_MAX_S
            elif (
                self._tilt_was_back
                and d > 0.6 * self._peak
                and d > posture.h_min
                and dp * self._swing_dp + dr * self._swing_dr > TILT_BACK_SHARE * self._swing2
            ):
                # the tilt came back to rest and goes out again the way it swung: the next rep (see TILT_BACK_SHARE)
                turned = True
            wdz = wz * dz  # the weighted travel from rest, cm
            if (
                d > 0.6 * self._peak
                and d > posture.h_min
                and not tilt_back
                and not turned
                and not (
                    wdz * self._peak_wz < 0.0
                    and wdz * wdz > tilt2
                    and 2.0 * self._peak_wz * self._peak_wz > self._peak * self._peak
                    and self._swing2 < TILT_CARRY_DEG**2
                    and not self._cand_valid
                    and self._rest_slow
                )
            ):
                # it went out again before stopping or turning: same excursion (e.g. a wobble at the turn). Once it
                # has turned, going out again is the next rep, even where the distance never came back below 0.6 of
                # the peak: in fast sets without a pause the velocity error of the way up runs on at the top and
                # the travel drifts out again (fast seed 191, lunges: every rep merged into the next). Nor is it
                # this excursion going out again where the travel is on the other side of rest from the peak, in an
                # excursion carried by travel (the travel most of D at the peak and now, the tilt swing below
                # TILT_CARRY_DEG: lunges, step-ups; not bridges or donkey kicks, where D is the tilt and the
                # travel's sign is noise, nor sit-to-stands, whose tilt says where the pelvis is): the way back
                # overshot through rest with velocity error and stopped on the far side (fast lunges at 52 Hz read
                # the way up 1.4 times too long and stopped 15-25 cm above standing, past 0.6 of the peak: fast
                # seed 488, 17 of 20; docs/training.md, round 12); the stop or give-up below ends the rep. Only
                # where the rest pose is where the pelvis rests: set where the previous rep slowed down (not a rep
                # that gave up while moving at over TURN_SPEED of its top speed: the rest pose is then mid-way
                # and the next real movement crosses it, seed 3036), and no still far pose of this excursion
                # may be a new start position (drift while fidgeting, then the set's first lunge: seed 7084)
                self._mode = _OUT
                continue
            if speed < self._smin:
                self._smin = speed
                self._i_min = i
                self._t_min = t
            if speed <= STOP_SPEED * self._vmax:
                if self._i_stop < 0:
                    self._i_stop = i
                    self._t_stop = t
            elif speed > 2.0 * STOP_SPEED * self._vmax:
                self._i_stop = -1
            stopped = self._i_stop >= 0 and t - self._t_stop >= SETTLE_S
            if d < NEAR_REST_SHARE * self._peak and speed < TURN_SPEED * self._vmax:
                self._t_near = t if self._t_near < 0.0 else self._t_near
            else:
                self._t_near = -1.0
            # back at rest (in whole bins; not while a stop settles, which ends the rep at the stop)
            near = (
                self._i_stop < 0 <= self._t_near
                and t - max(self._t_near, self._t_min) > SETTLE_S - 0.5 * BIN_S
                and self._t_min - self._t_on <= NEAR_REST_MAX_S
            )
            if stopped or turned or near or t - self._t_min >= GIVE_UP_S:
                self._write_rows(rows.take(j + 1))
                i_end = self._i_stop if stopped else self._i_min
                if last_zupt < i_end:
                    # the pelvis stopped or turned at the end of the rep: the velocity left there is integration
                    # error, removed from now on (fast sets have no pause long enough for a zero-velocity update;
                    # after one, the error is gone already and removing it again would add it back reversed)
                    if stopped:
                        v -= float(self._buf[i_end % BUF_N, 7])
                    else:
                        # turned (or gave up): the pause before the next rep, not the pose's slowest bin
                        a0 = max(i_end - TURN_V_BINS - 1, last_zupt, self._n - BUF_N + 1)
                        v -= _pause_velocity(self._slice(a0, self._n - 1)[:, 7], i_end - a0, v_peak)
                    v_peak = -v if v < 0.0 else v
                self._v, self._z, self._acc_bias = v, z, bias
                out.extend(self._complete_rep(i_end))
                # on all fours, a return that gave up while the pelvis still moves: its end is no rest pose
                self._rest_from_still = not (stopped or turned or near or still) and posture is PRONE
                self._mode = _IDLE
                self._rest_slow = self._smin <= TURN_SPEED * self._vmax
        self._write_rows(rows.take(len(ts)))
        self._v, self._z, self._acc_bias = v, z, bias
        self._gait_run = gait_run
        self._i_zupt = last_zupt
        self._v_peak = v_peak
        self._prev = prev
        return out

    def _gait_veto_run(
        self,
        j0: int,
        t_bin: FloatArray,
        y: FloatArray,
        a_arr: FloatArray,
        lists: tuple[list[float], list[float]],
        pitch_arr: FloatArray,
        roll_arr: FloatArray,
        still_arr: NDArray[np.bool_],
        quiet_runs: tuple[NDArray[np.int_], NDArray[np.int_]],
        v: float,
        z: float,
        bias: float,
        gait_run: float,
        prev: tuple[float, float, float],
        last_zupt: int,
    ) -> tuple[int, float, float, float, float, tuple[float, float, float], int]:
        """Bins ``j0...`` of a gait bout that keeps vetoing reps, done cheaply; returns the next bin to do normally.

        While walking or running vetoes reps (mode idle, no set open, gait labelled, the rest pose upright) the
        state machine only integrates travel (then holds it at the rest height) and lets the rest pose follow the
        pose (``_track_rest(..., 0.05)``):
        the same arithmetic as :meth:`_process`, in the same order (bit-identical state), without the per-bin
        state machine; the buffer rows are written vectorised. It stops before a bin that may be a zero-velocity
        update (``quiet_runs``: the quiet and pause runs, see ``_filters``; rare in gait), which :meth:`_process`
        does.
        ``a_arr``: the delayed vertical acceleration; ``pitch_arr``, ``roll_arr``: the pose's tilt
        (``_pose_tilt_deg``); ``lists``: tilt and obliquity as lists.
        """
        m = pitch_arr.shape[0]
        if self._hs_n:
            return j0, v, z, bias, gait_run, prev, last_zupt  # (ZUPT_RESTORE_DEG: the state machine does this bin)
        runs, pauses = quiet_runs
        # the run ends before the first bin without the gait label or that may be a zero-velocity update; the rest
        # pose's posture is checked per bin
        stop = ~(y[j0:, CH_GAIT] > 0.5) | (runs[j0:] >= ZUPT_SHORT_BINS) | (pauses[j0:] >= ZUPT_PAUSE_BINS)
        j_end = j0 + int(np.argmax(stop)) if stop.any() else m
        if j_end == j0:
            return j0, v, z, bias, gait_run, prev, last_zupt
        # the vertical velocity of each bin, integrated ahead: the veto leaves 0.0 after every bin, so a bin's is
        # _LEAK_V * 0.0 + (a - bias) * dt (the first one's from the velocity before), clipped to +-V_MAX_MPS
        dt, cm, v_max = BIN_S, CM_PER_M, V_MAX_MPS
        v_a = 0.0 + (a_arr[j0:j_end] - bias) * dt
        v_a[0] = _LEAK_V * v + (float(a_arr[j0]) - bias) * dt
        v_a = np.where(v_a > -v_max, v_a, -v_max)  # NaN included, as in _process
        v_a = np.where(v_a < v_max, v_a, v_max)
        pl = lists[0][j0:j_end]
        rl = lists[1][j0:j_end]
        r0, r1, r2 = self._rest
        r0s: list[float] = []  # the rest pose before each bin, travel (cm)
        r1s: list[float] = []
        r2s: list[float] = []
        zs: list[float] = []
        leak_z = _LEAK_Z
        put_r0, put_r1, put_r2, put_z = r0s.append, r1s.append, r2s.append, zs.append
        for v_k, pitch, roll in zip(v_a.tolist(), pl, rl, strict=True):
            if not -40.0 <= r1 <= 70.0:
                break  # not upright (posture_of): no veto, the state machine takes over
            z_rest = r0 / cm
            z = z_rest + leak_z * (z - z_rest) + v_k * dt
            z_cm = z * cm
            put_r0(r0)
            put_r1(r1)
            put_r2(r2)
            put_z(z_cm)
            gait_run = gait_run + dt
            z = r0 / cm  # the veto holds travel at the rest height (before the rest pose follows)
            r0 += 0.05 * (z_cm - r0)
            r1 += 0.05 * (pitch - r1)
            r2 += 0.05 * (roll - r2)
        n = len(zs)
        if n == 0:
            return j0, v, z, bias, gait_run, prev, last_zupt
        v_abs = np.where(v_a[:n] < 0.0, -v_a[:n], v_a[:n])
        v_top = float(v_abs.max())
        self._v_peak = v_top if v_top > self._v_peak else self._v_peak  # the largest since the last update
        self._rest[:] = (r0, r1, r2)
        j1 = j0 + n
        pitch_a = pitch_arr[j0:j1]
        roll_a = roll_arr[j0:j1]
        z_a = _floats(zs)
        dz = z_a - _floats(r0s)
        dp = (pitch_a - _floats(r1s) + 180.0) % 360.0 - 180.0
        dr = roll_a - _floats(r2s)
        d = np.sqrt(dz * dz + (dp * dp + dr * dr))  # upright: travel weight 1
        rows = np.empty((n, 8))
        rows[:, 0] = t_bin[j0:j1]
        rows[:, 1] = d
        rows[:, 2] = z_a
        rows[:, 3] = pitch_a
        rows[:, 4] = roll_a
        rows[:, 5] = still_arr[j0:j1]
        rows[:, 6] = y[j0:j1, CH_YAW]
        rows[:, 7] = v_a[:n]
        self._write_rows(rows)
        self._mode = _IDLE
        self._dmin = float(d[-1])
        self._i_low = self._n - 1
        return j1, 0.0, z, bias, gait_run, (zs[-1], pl[n - 1], rl[n - 1]), last_zupt

    def _idle_run(
        self,
        j0: int,
        n0: int,
        lists: tuple[
            list[float],
            list[float],
            list[float],
            list[bool],
            list[int],
            list[int],
            list[float],
            list[bool],
            list[float],
        ],
        z_bps: FloatArray,
        rows: _PendingRows,
        state: tuple[float, float, float, float, int, float],
        prev: tuple[float, float, float],
    ) -> tuple[int, float, float, float, float, tuple[float, float, float], int, float]:
        """Bins ``j0...`` of the call while the state machine stays idle, done in a tight loop; returns the next bin
        for :meth:`_process` and its state ``(v, z, bias, gait_run, prev, last_zupt, v_peak)`` after the bins done.

        Between reps and between sets (mode idle, no gait veto) a bin only integrates travel (zero-velocity updates
        included), lets the rest pose follow the pose and keeps the running minimum of ``D``: the same arithmetic
        as :meth:`_process`, in the same order (bit-identical state), with the state in local variables, the
        posture, threshold and set looked up once, and no per-bin method calls. It stops before a bin that does
        more (starts an excursion, ends the set, reaches the gait veto, re-levels the tilt; :meth:`_process` does
        that bin, with the state as it was) and after a bin whose rest pose moved into another posture class.
        ``lists``: time, tilt, obliquity, stillness, quiet and pause runs, delayed vertical acceleration, gait label
        and angular rate (deg/s) of the call's bins; ``z_bps``: the band-passed travel (see ``GAIT_Z_CM``);
        ``rows``: the buffer rows not yet written (D, travel and velocity are appended per bin);
        ``state``: ``(v, z, bias, gait_run, last_zupt, v_peak)`` before bin ``j0``.
        """
        ts, ps, rs, stills, runs, pauses, avs, gaits, gyrs = lists
        v, z, bias, gait_run, last_zupt, v_peak = state
        rest = self._rest
        r0, r1, r2 = rest
        posture = posture_of(r1)
        wz = posture.z_weight
        h_on = self._h_on(posture.h_min)
        st = self._set
        in_set = st is not None
        prone_lag = h_on == PRONE.h_min
        from_still = self._rest_from_still
        from_hold = self._rest_from_hold
        dmin, i_low = self._dmin, self._i_low
        z_prev, p_prev, r_prev = prev
        upright = posture is UPRIGHT
        hs_n, hs_v, hs_z, hs_tilt = self._hs_n, self._hs_v, self._hs_z, self._hs_tilt
        bias_posture, mean_from, mean_sum, mean_n = self._bias_posture, self._mean_from, self._mean_sum, self._mean_n
        put_d, put_z, put_v = rows.d.append, rows.z_cm.append, rows.v.append
        leak_v, leak_z, dt, cm, v_max, fs = _LEAK_V, _LEAK_Z, BIN_S, CM_PER_M, V_MAX_MPS, FS_HZ
        sqrt = math.sqrt
        j, m = j0, len(ts)
        while j < m:
            pitch = ps[j]
            roll = rs[j]
            still = stills[j]
            i = n0 + j
            run = runs[j]
            # the bin's new state in v_j, z_j, ...: committed only if the bin stays idle
            hs_n_j, hs_v_j, hs_z_j, hs_tilt_j = 0, 0.0, 0.0, hs_tilt
            bias_posture_j, mean_from_j, mean_sum_j, mean_n_j = bias_posture, mean_from, mean_sum, mean_n
            if (run >= ZUPT_SHORT_BINS or pauses[j] >= ZUPT_PAUSE_BINS) and _zupt_now(
                run,
                i,
                last_zupt,
                v,
                v_peak,
                run >= ZUPT_BINS
                and i - last_zupt <= ZUPT_TILTING_MAX_BINS
                and (pitch - p_prev) ** 2 + (roll - r_prev) ** 2 > _TILTING_STEP2
                and self._steady_start(i, rows, pitch, roll, v, r1),
                False,
            ):
                z_j = z
                if last_zupt != i - 1:  # (an update going on integrated nothing meanwhile)
                    run_int = run if last_zupt < 0 or run < i - last_zupt else i - last_zupt  # min(...)
                    if run_int > ZUPT_BINS:
                        z_j = z - v * (run_int - ZUPT_BINS) * dt
                if last_zupt == i - 1 and upright and (pitch - p_prev) ** 2 + (roll - r_prev) ** 2 > _TILTING_STEP2:
                    hs_tilt_j = (p_prev, r_prev) if hs_n == 0 else hs_tilt  # (see _process)
                    hs_n_j = hs_n + 1
                    hs_v_j = leak_v * hs_v + (avs[j] - bias) * dt
                    hs_z_j = hs_z + hs_v_j * dt
                gap = i - last_zupt if run >= ZUPT_SHORT_BINS else 0
                bias_j = _zupt_bias(bias, avs[j], v, gap, last_zupt)
                if run >= ZUPT_BINS and still and (pitch - p_prev) ** 2 + (roll - r_prev) ** 2 <= _TILTING_STEP2:
                    posture_now = posture_of(pitch)  # (see _process)
                    if bias_posture is None:
                        bias_posture_j = posture_now
                    if mean_from == i - run + 1 or posture_now is not bias_posture_j:
                        if mean_from != i - run + 1:
                            mean_from_j, mean_sum_j, mean_n_j = i - run + 1, 0.0, 0
                        mean_sum_j += avs[j]
                        mean_n_j += 1
                        if mean_n_j >= ZUPT_MEAN_BINS:
                            bias_posture_j = posture_now
                            if posture_now.z_weight > 0.0:
                                bias_j = mean_sum_j / mean_n_j
                v_j = 0.0
                v_peak_j = 0.0
                last_zupt_j = i
            else:
                v_j, z_j = v, z
                if (
                    hs_n
                    and last_zupt == i - 1
                    and ZUPT_RESTORE_MIN_BINS <= hs_n <= ZUPT_RESTORE_MAX_BINS
                    and (pitch - hs_tilt[0]) ** 2 + (roll - hs_tilt[1]) ** 2 >= _RESTORE_STEP2
                ):
                    v_j, z_j = hs_v, z + hs_z  # (see _process)
                v_j = leak_v * v_j + (avs[j] - bias) * dt
                v_j = v_j if v_j > -v_max else -v_max  # NaN included, as in _process
                v_j = v_j if v_j < v_max else v_max
                v_abs = -v_j if v_j < 0.0 else v_j
                v_peak_j = v_abs if v_abs > v_peak else v_peak
                z_rest = r0 / cm
                z_j = z_rest + leak_z * (z_j - z_rest) + v_j * dt
                bias_j = bias
                last_zupt_j = last_zupt
            z_cm = z_j * cm
            qp = pitch - p_prev
            qr = roll - r_prev
            if gaits[j]:
                rest[:] = (r0, r1, r2)  # read by _gait_posture
                gait_run_j = gait_run + dt if self._gait_posture(pitch, in_set, z_bps[j]) else 0.0
                if gait_run_j >= GAIT_VETO_S:
                    break
            else:
                gait_run_j = 0.0
            if -TILT_JUMP_UPRIGHT_DEG < pitch < TILT_JUMP_UPRIGHT_DEG:
                jump_dps = TILT_JUMP_RATIO * gyrs[j]
                jump_dps = jump_dps if jump_dps > TILT_JUMP_DPS else TILT_JUMP_DPS
                if (qp * qp + qr * qr) * fs * fs > jump_dps**2:
                    break  # a re-levelled tilt: the rest pose moves with it (_process)
            dz = z_cm - r0
            dp = (pitch - r1 + 180.0) % 360.0 - 180.0
            dr = roll - r2
            tilt2 = dp * dp + dr * dr
            d = sqrt(wz * wz * dz * dz + tilt2)
            if d > h_on:
                break  # an excursion starts
            t = ts[j]
            if st is not None and t - st.t_last_end_s > st.gap_s:
                break  # the set ends
            if prone_lag and not in_set and self._kick_anchor(i, t, pitch, roll, h_on, (r0, r1, r2)):
                break  # the rest pose goes to the kick anchor (_process)
            put_d(d)
            put_z(z_cm)
            put_v(v_j)
            if last_zupt_j == i:
                self._zupt_run = run
            hs_n, hs_v, hs_z, hs_tilt = hs_n_j, hs_v_j, hs_z_j, hs_tilt_j
            bias_posture, mean_from, mean_sum, mean_n = bias_posture_j, mean_from_j, mean_sum_j, mean_n_j
            v, z, bias, gait_run, last_zupt, v_peak = v_j, z_j, bias_j, gait_run_j, last_zupt_j, v_peak_j
            z_prev, p_prev, r_prev = z_cm, pitch, roll
            j += 1
            # the rest pose follows sway and drift (see _process)
            if still and from_still:
                from_still = False
                from_hold = not self._tilt_held(i, rows, pitch, roll)
                r0, r1, r2 = z_cm, pitch, roll
            elif still and from_hold and self._tilt_held(i, rows, pitch, roll):
                from_hold = False
                r0, r1, r2 = z_cm, pitch, roll
            elif still and d < 0.25 * h_on:
                r0 += 0.1 * (z_cm - r0)
                r1 += 0.1 * (pitch - r1)
                r2 += 0.1 * (roll - r2)
            elif not in_set and d < h_on:
                if prone_lag:
                    z_lag, p_lag, r_lag = self._pose_ago(i, rows, REST_LAG_BINS)
                    r0 += 0.02 * (z_lag - r0)
                    r1 += 0.02 * (p_lag - r1)
                    r2 += 0.02 * (r_lag - r2)
                else:
                    r0 += 0.02 * (z_cm - r0)
                    r1 += 0.02 * (pitch - r1)
                    r2 += 0.02 * (roll - r2)
            dmin = d if d < dmin else dmin
            if d <= dmin + Q_UNITS:
                i_low = i
            if posture_of(r1) is not posture:
                break  # another threshold and travel weight from the next bin on
        rest[:] = (r0, r1, r2)
        self._rest_from_still = from_still
        self._rest_from_hold = from_hold
        self._dmin, self._i_low = dmin, i_low
        self._hs_n, self._hs_v, self._hs_z, self._hs_tilt = hs_n, hs_v, hs_z, hs_tilt
        self._bias_posture, self._mean_from, self._mean_sum, self._mean_n = bias_posture, mean_from, mean_sum, mean_n
        if j > j0:
            prev = (z_prev, p_prev, r_prev)
        return j, v, z, bias, gait_run, prev, last_zupt, v_peak

    def _write_rows(self, rows: FloatArray) -> None:
        if len(rows) == 0:
            return
        a = self._n % BUF_N
        if a + len(rows) <= BUF_N:
            self._buf[a : a + len(rows)] = rows  # no wrap (almost always): a slice, no index array
        else:
            self._buf[np.arange(self._n, self._n + len(rows)) % BUF_N] = rows
        self._n += len(rows)

    def _holds_set_pose(self, z_cm: float, pitch: float, roll: float) -> bool:
        """Whether a still pose is the far pose of the open set's reps (a squat or bridge held after the set),
        not another posture (sitting down to rest after squats is as far from standing, the other way; standing
        after sit-to-stands or step-ups is their far pose, but not a hold)."""
        st = self._set
        if st is None or not st.reps or self._classify_final(st)[0] in NO_HOLD_EXERCISES:
            return False
        wz = posture_of(float(self._rest[1])).z_weight
        dz = np.median([r.dz_cm for r in st.reps]) - (z_cm - self._rest[0])
        dp = np.median([r.dpitch_deg for r in st.reps]) - (pitch - self._rest[1])
        dr = np.median([r.droll_deg for r in st.reps]) - (roll - self._rest[2])
        return math.sqrt(float((wz * dz) ** 2 + dp**2 + dr**2)) < 0.35 * st.amp

    def _pose_ago(self, i: int, rows: _PendingRows, k: int) -> tuple[float, float, float]:
        """The pose ``(z_cm, pitch, roll)`` of bin ``i - k`` (or of the oldest bin seen), from ``rows`` (the bins
        of this call not yet written) or the ring buffer."""
        j = max(i - k, 0, self._n - BUF_N + 1)
        if j >= self._n:
            return rows.pose(j - self._n)
        r = self._buf[j % BUF_N]
        return float(r[2]), float(r[3]), float(r[4])

    def _steady_start(self, i: int, rows: _PendingRows, pitch: float, roll: float, v: float, rest_pitch: float) -> bool:
        """Whether a quiet run before an excursion has opened is the slow start of a movement (see
        ``ZUPT_STEADY_DEG``): the integrated velocity is ``ZUPT_V_MPS`` or more (slower, the longer deferral does
        not apply), the rest pose upright, the last update's quiet run ``ZUPT_REST_BINS`` or longer, and the tilt
        (``pitch``, ``roll`` of bin ``i``) has moved steadily over the last ``ZUPT_STEADY_BINS``."""
        if (-v if v < 0.0 else v) < ZUPT_V_MPS or self._zupt_run < ZUPT_REST_BINS:
            return False
        if posture_of(rest_pitch) is not UPRIGHT:
            return False
        path = 0.0
        p1, r1 = pitch, roll
        for k in range(1, ZUPT_STEADY_BINS + 1):
            _, p0, r0 = self._pose_ago(i, rows, k)
            path += math.sqrt((p1 - p0) ** 2 + (r1 - r0) ** 2)
            p1, r1 = p0, r0
        net2 = (pitch - p1) ** 2 + (roll - r1) ** 2
        return net2 >= _STEADY_STEP2 and net2 >= (ZUPT_STEADY_STRAIGHT * path) ** 2

    def _tilt_held(self, i: int, rows: _PendingRows, pitch: float, roll: float) -> bool:
        """Whether the tilt (``pitch``, ``roll`` of bin ``i``) moved less than ``KICK_HOLD_DPS`` in each of the last
        ``KICK_HOLD_BINS`` bins: a held pose (see ``REST_LAG_BINS``)."""
        p1, r1 = pitch, roll
        for k in range(1, KICK_HOLD_BINS + 1):
            _, p0, r0 = self._pose_ago(i, rows, k)
            if (p1 - p0) ** 2 + (r1 - r0) ** 2 > _KICK_HOLD_STEP2:
                return False
            p1, r1 = p0, r0
        return True

    def _kick_anchor(
        self, i: int, t: float, pitch: float, roll: float, h_on: float, rest: list[float] | tuple[float, float, float]
    ) -> bool:
        """Follow the kick anchor (see ``KICK_GO_SHARE``) with bin ``i`` (idle, between sets, on all fours, tilt
        ``pitch``, ``roll``; ``rest``: the rest pose before the bin). Returns whether the rest pose goes to the
        held pose now; then nothing is updated (the caller moves it: ``_rest_to_anchor``), so that a second call
        for the same bin says the same (the idle fast path stops before it, ``_process`` does it)."""
        if self._ka_last != i - 1:
            # the first bin followed (or bins since were not idle between sets on all fours): start over
            self._ka_last = i
            self._ka_prev = (pitch, roll)
            self._ka_held = 0
            self._ka_i = -1
            self._ka_trip_d = 0.0
            return False
        hp, hr = pitch - self._ka_prev[0], roll - self._ka_prev[1]
        held_n = self._ka_held + 1 if hp * hp + hr * hr <= _KICK_HOLD_STEP2 else 0
        held = held_n >= KICK_HOLD_BINS
        ap, ar = self._ka
        xp, xr = pitch - ap, roll - ar
        da = math.sqrt(xp * xp + xr * xr)
        trip_d = self._ka_trip_d
        if self._ka_i >= 0 and trip_d > 0.0 and da >= KICK_GO_SHARE * trip_d:
            fp = self._ka_trip_far[0] - self._ka_trip_from[0]
            fr = self._ka_trip_far[1] - self._ka_trip_from[1]
            rp, rr = rest[1] - ap, rest[2] - ar
            if xp * fp + xr * fr >= KICK_DIR_COS * da * trip_d and rp * rp + rr * rr >= (0.25 * h_on) ** 2:
                return True  # out again the way it went, from the pose it came back to; the rest pose is elsewhere
        self._ka_last = i
        self._ka_prev = (pitch, roll)
        self._ka_held = held_n
        if self._ka_i < 0:
            if held:
                self._ka, self._ka_i, self._ka_far_d, self._ka_top_since = (pitch, roll), i, 0.0, -1.0
            return False
        if da > self._ka_far_d:
            self._ka_far_d = da
            self._ka_far = (pitch, roll)
        if not held:
            return False
        far_d = self._ka_far_d
        if far_d < SET_H_SHARE * h_on:
            # no kick-sized excursion since the held pose: the anchor follows the pose held now; a pose held away
            # from where the last excursion started and came back to is no start of the next one
            if trip_d > 0.0:
                tp, tr = pitch - self._ka_trip_from[0], roll - self._ka_trip_from[1]
                if tp * tp + tr * tr > (PRONE_RETURN * trip_d) ** 2:
                    self._ka_trip_d = 0.0
        elif da <= PRONE_RETURN * far_d:
            # held again where it started from, after a kick-sized excursion
            self._ka_trip_from = (ap, ar)
            self._ka_trip_far = self._ka_far
            self._ka_trip_d = far_d
        else:
            fp, fr = pitch - self._ka_far[0], roll - self._ka_far[1]
            if fp * fp + fr * fr <= (PRONE_RETURN * far_d) ** 2:
                # held at the far pose (a kick's pause at the top): the anchor stays, unless it is a hold
                if self._ka_top_since < 0.0:
                    self._ka_top_since = t
                if t - self._ka_top_since <= self.hold_min_s:
                    return False
            self._ka_trip_d = 0.0  # held elsewhere: a new anchor, no excursion and back yet
        self._ka, self._ka_i, self._ka_far_d, self._ka_top_since = (pitch, roll), i, 0.0, -1.0
        return False

    def _rest_to_anchor(self) -> None:
        """The rest pose to the kick anchor's last held bin (all rows written): ``D`` of the bins since then
        recomputed from it (the next rep's start is found there), the running minimum from them, the anchor reset."""
        i = self._n - 1
        a = max(self._ka_i, self._n - BUF_N + 1)
        self._rest[:] = self._buf[a % BUF_N, 2:5].tolist()
        idx = np.arange(a, i + 1) % BUF_N
        rows = self._buf[idx]
        d = np.sqrt((rows[:, 3] - self._rest[1]) ** 2 + (rows[:, 4] - self._rest[2]) ** 2)  # on all fours: tilt only
        self._buf[idx, 1] = d
        self._dmin = float(d.min())
        self._i_low = a + int(np.flatnonzero(d <= self._dmin + Q_UNITS)[-1])
        self._ka_last = -2

    def _reset_min(self, i: int, d: float) -> None:
        self._dmin = d
        self._i_low = i

    def _track_rest(self, z_cm: float, pitch: float, roll: float, alpha: float) -> None:
        r = self._rest
        r[0] += alpha * (z_cm - r[0])
        r[1] += alpha * (pitch - r[1])
        r[2] += alpha * (roll - r[2])

    def _gait_posture(self, pitch: float, in_set: bool, z_bp_cm: float) -> bool:
        """Whether the pelvis could be walking or running: upright (rest pose) and, during a set, not hinged
        forward nor moving up or down by more than a stride does (outside sets the gait label also covers getting
        down to the floor, which must end a set)."""
        return self._h_min() == UPRIGHT.h_min and (not in_set or (abs(pitch) < GAIT_TILT_DEG and z_bp_cm < GAIT_Z_CM))

    def _posture_changed(self, pitch: float) -> bool:
        return posture_of(pitch).name != posture_of(float(self._rest[1])).name

    def _rebase(self, i: int, t: float) -> list[Event]:
        """Make the remembered still pose the rest pose; the excursion since then becomes the current one."""
        self._rest[:] = self._cand
        a = self._i_cand
        idx = np.arange(a, i + 1) % BUF_N
        rows = self._buf[idx]
        dp = (rows[:, 3] - self._rest[1] + 180.0) % 360.0 - 180.0
        dz = rows[:, 2] - self._rest[0]
        tilt2 = dp**2 + (rows[:, 4] - self._rest[2]) ** 2
        d = np.sqrt((dz * posture_of(float(self._rest[1])).z_weight) ** 2 + tilt2)
        self._buf[idx, 1] = d
        k = int(np.argmax(d))
        self._peak = float(d[k])
        self._peak_wz = float(dz[k]) * posture_of(float(self._rest[1])).z_weight
        self._peak_full = float(np.sqrt(dz**2 + tilt2).max())
        k_swing = int(np.argmax(tilt2))
        self._swing2 = float(tilt2[k_swing])
        self._swing_dp = float(dp[k_swing])
        self._swing_dr = float(rows[k_swing, 4] - self._rest[2])
        self._i_peak = a + k
        self._i_low = a
        self._dmin = 0.0
        self._t_on = t
        self._mode = _OUT
        self._rest_slow = True  # the pelvis held the new rest pose still
        self._still_far_since = -1.0
        self._other_class_since = -1.0
        return self._end_set()

    def _posture_change(self, i: int, z_cm: float, pitch: float, roll: float) -> list[Event]:
        self._cand_valid = False
        self._mode = _IDLE
        self._rest[:] = (z_cm, pitch, roll)
        self._reset_min(i, 0.0)
        self._rest_slow = True
        return self._end_set()

    def _slice(self, a: int, b: int) -> FloatArray:
        """Rows of the ring buffer for absolute bin indices ``a..b`` inclusive."""
        idx = np.arange(a, b + 1) % BUF_N
        return self._buf[idx]

    def _complete_rep(self, i_min: int) -> list[Event]:
        out: list[Event] = []
        a = max(self._i_low, self._n - BUF_N + 1)
        seg = self._slice(a, self._n - 1)
        t = seg[:, 0]
        d = seg[:, 1]
        k_peak = self._i_peak - a
        k_min = max(k_peak, i_min - a)
        peak = float(d[k_peak])
        speed = abs_gradient(d, t) if d.size > 2 else np.zeros(d.size)
        # start: the last bin before the fastest outward bin that moves at < 5 % of that speed (C2/C3-smooth
        # movements creep out of rest, so speed marks the boundary much better than distance)
        k_vout = int(np.argmax(speed[: k_peak + 1]))
        slow = np.flatnonzero(speed[: k_vout + 1] <= BOUNDARY_SPEED * speed[k_vout])
        k_start = int(slow[-1]) if slow.size else 0
        k_end = k_min  # where the pose stopped or turned (see the BACK state)
        rep = seg[k_start : k_end + 1]
        tr = rep[:, 0]
        dr = rep[:, 1]
        t_start = float(tr[0]) - LP_DELAY_S
        t_end = float(tr[-1]) - LP_DELAY_S
        duration = t_end - t_start
        # the next excursion starts from the pose where this one came to rest
        self._i_low = a + k_min
        self._dmin = 0.0
        self._rest[:] = seg[k_min, 2:5].tolist()
        if peak < self._h_on() or duration < MIN_REP_S or not _came_back(rep, peak):
            return out
        # the turn: near the peak and slow
        sp = speed[k_start : k_end + 1]
        vmax = float(sp.max()) if sp.size else 0.0
        turn = np.flatnonzero((dr >= 0.8 * peak) & (sp <= TURN_SLOW * vmax))
        kp = k_peak - k_start
        k_arr, k_lv = (int(turn[0]), int(turn[-1])) if turn.size else (kp, kp)
        out_s = float(tr[k_arr] - tr[0])
        pause_s = float(tr[k_lv] - tr[k_arr])
        back_s = float(tr[-1] - tr[k_lv])
        rest = rep[0, 2:7]
        at_peak = rep[kp, 2:7] - rest
        feats = RepFeatures(
            rest_pitch_deg=float(rest[1]),
            dz_cm=float(at_peak[0]),
            dpitch_deg=float(at_peak[1]),
            droll_deg=float(at_peak[2]),
            dyaw_deg=float(at_peak[4]),
            peak=peak,
            duration_s=duration,
        )
        still_turn = float(np.mean(rep[k_arr : k_lv + 1, 5])) >= 0.5
        st = self._set
        if st is None:
            st = self._set = _SetState(t_start_s=t_start)
        exercise, conf = self._classify(st, feats)
        if pause_s >= self.hold_min_s and still_turn:
            st.t_last_end_s = t_end
            out.append(
                HoldEvent(
                    t_start_s=float(tr[k_arr]) - LP_DELAY_S,
                    t_end_s=float(tr[k_lv]) - LP_DELAY_S,
                    exercise=exercise,
                    duration_s=pause_s,
                )
            )
            return out
        profile = EXERCISE_PROFILES[exercise]
        side = profile.side_of(feats)
        lateral = None
        if side is not None:
            lateral = float(np.max(SIDE_SIGN[side] * (rep[:, 4] - rest[2])))
        concentric_first = profile.concentric_first(feats)
        if len(st.reps) < CLASSIFY_REPS:
            st.reps.append(feats)
        st.n_reps += 1
        st.sides.append(side)
        st.durations_s.append(duration)
        st.peaks.append(peak)
        if lateral is not None:
            st.lateral_tilt_deg.append(lateral)
        st.t_last_end_s = t_end
        # statistics.median: the same value as np.median (the middle one, or the mean of the two) for finite
        # floats, without numpy's overhead on a short list
        med_dur = statistics.median(st.durations_s[-CLASSIFY_REPS:])
        med_peak = statistics.median(st.peaks[-CLASSIFY_REPS:])
        st.amp = med_peak
        st.gap_s = max(SET_GAP_MIN_S, 2.5 * med_dur)
        quality = max(0.0, 1.0 - 0.5 * abs(duration / med_dur - 1.0) - 0.5 * abs(peak / med_peak - 1.0))
        h = self._h_min()
        clarity = min(1.0, max(0.0, (peak - h) / h))
        out.append(
            RepEvent(
                t_start_s=t_start,
                t_end_s=t_end,
                exercise=exercise,
                side=side,
                index_in_set=st.n_reps,
                duration_s=duration,
                eccentric_s=back_s if concentric_first else out_s,
                concentric_s=out_s if concentric_first else back_s,
                pause_s=pause_s,
                vertical_travel_m=float(np.ptp(rep[:, 2])) / CM_PER_M,
                tilt_range_deg=float(np.ptp(rep[:, 3])),
                lateral_tilt_deg=lateral,
                quality=min(1.0, quality),
                confidence=min(1.0, max(0.0, conf * (0.5 + 0.5 * clarity))),
            )
        )
        return out

    def _classify(self, st: _SetState, feats: RepFeatures) -> tuple[Exercise, float]:
        if self.declared_exercise is not None:
            return self.declared_exercise, 1.0
        return self.classifier.classify([*st.reps, feats])

    def _end_set(self) -> list[Event]:
        st = self._set
        self._set = None
        if st is None or st.n_reps == 0:
            return []
        exercise, conf = self._classify_final(st)
        durations = np.asarray(st.durations_s)
        n_left = sum(1 for s in st.sides if s == "left")
        n_right = sum(1 for s in st.sides if s == "right")
        side: Side | None = None
        if n_left + n_right and max(n_left, n_right) >= 0.8 * len(st.sides):
            side = "left" if n_left > n_right else "right"
        mean_rep = float(durations.mean())
        ev = SetEvent(
            t_start_s=st.t_start_s,
            t_end_s=st.t_last_end_s,
            exercise=exercise,
            exercise_confidence=conf,
            reps=st.n_reps,
            side=side,
            mean_rep_s=mean_rep,
            tempo_cv=float(durations.std() / mean_rep) if durations.size > 1 else None,
            mean_lateral_tilt_deg=float(np.mean(st.lateral_tilt_deg)) if st.lateral_tilt_deg else None,
        )
        if self.on_set is not None:
            self.on_set(ev, set_vector(st.reps))
        return [ev]

    def _classify_final(self, st: _SetState) -> tuple[Exercise, float]:
        if self.declared_exercise is not None:
            return self.declared_exercise, 1.0
        return self.classifier.classify(st.reps)
