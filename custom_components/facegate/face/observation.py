"""What the engine reports of one face in one frame: small, picklable, no image."""

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

type Box = tuple[int, int, int, int]  # top, right, bottom, left (face_recognition's order)


@dataclass(frozen=True, slots=True)
class FaceObservation:
    """One detected face: where, its 128-d encoding, and its landmarks (for liveness)."""

    box: Box
    encoding: npt.NDArray[np.float64]  # shape (128,): the engine's (dlib's, or MobileFaceNet's)
    # x, y: (68, 2) int32 of dlib's 68-point model (dlib engine), or (5, 2) float64 of YuNet's
    # eye centres, nose tip and mouth corners (the default engine: liveness.py reads both)
    landmarks: npt.NDArray[np.int32] | npt.NDArray[np.float64]
    sharpness: float  # variance of the Laplacian over the face: low means blurred
    brightness: float  # mean grey level of the face, 0-255
    # The passive anti-spoofing score (face/antispoof.py), 0 spoof .. 1 live; None unscored.
    live_score: float | None = None
    # No colour (an infrared night picture): the passive model cannot judge it (antispoof.py).
    grey: bool = False
    # False when the encoding is the tracked face's from an earlier frame (face/reuse.py).
    encoded: bool = True

    @property
    def width(self) -> int:
        """Width of the face box in pixels."""
        return self.box[1] - self.box[3]
