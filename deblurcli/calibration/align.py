"""Register the blurred calibration shot onto the sharp one (OpenCV).

Coarse: SIFT features (ORB if SIFT is unavailable), ratio test, RANSAC homography. Fine: ECC
(``findTransformECC``, homography) on Gaussian-smoothed images, which tolerates the blur difference.
Then exposure / white balance: a per-channel gain and offset fitted by least squares in linear light.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import AlignmentError
from ..synth.degrade import to_gamma, to_linear

MAX_SIDE = 1600  # features and ECC run on a downscaled copy; the warp is rescaled to full size
MIN_OVERLAP = 0.9  # share of each shot's frame the other must cover (the prior lives in SHARP's frame)


@dataclass(frozen=True)
class Alignment:
    warp: np.ndarray  # 3×3 homography mapping SHARP pixel coords -> BLUR pixel coords
    inliers: int
    residual_px: float  # RMS reprojection error of the RANSAC inliers (full-res px)
    gain: np.ndarray  # per channel, applied in linear light: sharp_lin ≈ gain·blur_lin + offset
    offset: np.ndarray
    photometric_rmse: float


def _gray(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor((np.clip(img, 0, 1) * 255).astype(np.uint8), cv2.COLOR_RGB2GRAY)


def check_pair(sharp_shape: tuple[int, ...], blur_shape: tuple[int, ...]) -> None:
    (hs, ws), (hb, wb) = sharp_shape[:2], blur_shape[:2]
    if abs(ws / hs - wb / hb) > 0.01 * ws / hs:
        raise AlignmentError(f"the pair's aspect ratios differ ({ws}×{hs} vs {wb}×{hb})",
                             "both shots must come from the same camera at the same resolution and orientation")
    if max(hs, ws) < 64:
        raise AlignmentError(f"the calibration images are too small ({ws}×{hs})", "use full-resolution shots")


def pair_warnings(sharp: np.ndarray, blur: np.ndarray) -> list[str]:
    """What a user should know about a calibration pair before trusting its figures: frames of two
    sizes (the blurred one is registered onto the sharp one's frame) and two (nearly) identical images
    (no blur to measure: the PSF widths are then the estimator's floor, not the lens)."""
    notes = []
    (hs, ws), (hb, wb) = sharp.shape[:2], blur.shape[:2]
    if (hs, ws) != (hb, wb):
        notes.append(f"the pair's sizes differ ({ws}×{hs} vs {wb}×{hb}): the blurred shot is resampled onto the sharp "
                     "one's frame; the PSFs are in SHARP's pixels")
    elif float(np.abs(sharp - blur).mean()) < 0.5 / 255:
        notes.append("the two images are (nearly) identical: there is no blur to measure, so the PSF widths "
                     "reported are the estimator's floor, not your lens")
    return notes


def _features(g: np.ndarray):  # type: ignore[no-untyped-def]
    try:
        det = cv2.SIFT_create(nfeatures=4000)
        norm = cv2.NORM_L2
    except AttributeError:  # pragma: no cover - very old OpenCV builds
        det = cv2.ORB_create(4000)
        norm = cv2.NORM_HAMMING
    kp, des = det.detectAndCompute(g, None)
    return kp, des, norm


def coarse(sharp: np.ndarray, blur: np.ndarray) -> tuple[np.ndarray, int, float]:
    s = min(1.0, MAX_SIDE / max(sharp.shape[:2]))
    gs = cv2.resize(_gray(sharp), None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    gb = cv2.resize(_gray(blur), None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    gs = cv2.GaussianBlur(gs, (0, 0), 1.0)  # meet the blurred shot half way
    ks, ds, norm = _features(gs)
    kb, db, _ = _features(gb)
    if ds is None or db is None or len(ks) < 8 or len(kb) < 8:
        raise AlignmentError("too few features to align the pair", "use a textured calibration target (a chart, a detailed scene)")
    matches = cv2.BFMatcher(norm).knnMatch(ds, db, k=2)
    good = [m for m, n in (p for p in matches if len(p) == 2) if m.distance < 0.75 * n.distance]
    if len(good) < 12:
        raise AlignmentError(f"only {len(good)} features match between the two shots", "are they the same scene, framed the same way?")
    src = np.float32([ks[m.queryIdx].pt for m in good])
    dst = np.float32([kb[m.trainIdx].pt for m in good])
    H, mask = cv2.findHomography(src, dst, cv2.RANSAC, 2.0)
    if H is None or mask.sum() < 12:
        raise AlignmentError("no consistent geometric transform between the two shots", "are they the same scene?")
    inl = mask.ravel().astype(bool)
    proj = cv2.perspectiveTransform(src[inl][None], H)[0]
    rms = float(np.sqrt(((proj - dst[inl]) ** 2).sum(1).mean())) / s
    S = np.diag([s, s, 1.0])
    return np.linalg.inv(S) @ H @ S, int(inl.sum()), rms


def fine(sharp: np.ndarray, blur: np.ndarray, warp: np.ndarray) -> np.ndarray:
    s = min(1.0, MAX_SIDE / max(sharp.shape[:2]))
    gs = cv2.resize(_gray(sharp), None, fx=s, fy=s, interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    gb = cv2.resize(_gray(blur), None, fx=s, fy=s, interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    S = np.diag([s, s, 1.0])
    w = (S @ warp @ np.linalg.inv(S)).astype(np.float32)
    crit = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 200, 1e-6)
    try:
        _, w = cv2.findTransformECC(gs, gb, w, cv2.MOTION_HOMOGRAPHY, crit, None, 5)
    except cv2.error:
        return warp  # ECC did not converge: keep the feature-based transform
    return np.linalg.inv(S) @ w.astype(np.float64) @ S


def align(sharp: np.ndarray, blur: np.ndarray) -> tuple[np.ndarray, Alignment]:
    """Return BLUR resampled onto SHARP's pixel grid (exposure-matched) and the alignment record."""
    check_pair(sharp.shape, blur.shape)
    if blur.shape[:2] != sharp.shape[:2]:
        blur = cv2.resize(blur, (sharp.shape[1], sharp.shape[0]), interpolation=cv2.INTER_AREA)
    H, n, rms = coarse(sharp, blur)
    H = fine(sharp, blur, H)
    h, w = sharp.shape[:2]
    check_overlap(H, h, w)
    aligned = cv2.warpPerspective(blur, H.astype(np.float64), (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                  borderMode=cv2.BORDER_REFLECT)
    gain, offset, rmse = match_exposure(sharp, aligned)
    lin = to_linear(aligned) * gain + offset
    return to_gamma(lin), Alignment(H, n, rms, gain, offset, rmse)


def overlap(warp: np.ndarray, h: int, w: int) -> tuple[float, float]:
    """(share of BLUR's frame that SHARP's frame covers, share of SHARP's frame inside BLUR's), both
    h×w, with ``warp`` mapping SHARP's pixel coords to BLUR's."""
    rect = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    poly = cv2.perspectiveTransform(rect[None], warp.astype(np.float64))[0].astype(np.float32)
    area = abs(float(cv2.contourArea(poly)))
    try:
        inter, _ = cv2.intersectConvexConvex(rect, poly)
    except cv2.error:  # a degenerate warp (folded frame): no usable overlap
        inter = 0.0
    return float(inter) / (w * h), float(inter) / max(area, 1e-9)


def check_overlap(warp: np.ndarray, h: int, w: int) -> None:
    """Refuse a pair whose frames differ: a chart photographed without filling the frame, or a chart
    cut off by it (the prior and PSF field are mapped to SHARP's frame, which must be the sensor's)."""
    blur_covered, sharp_seen = overlap(warp, h, w)
    if blur_covered < MIN_OVERLAP:
        raise AlignmentError(f"the sharp image covers only {blur_covered:.0%} of the blurred shot",
                             "photograph the chart (or scene) so that it fills the frame, as the sharp image does")
    if sharp_seen < MIN_OVERLAP:
        raise AlignmentError(f"only {sharp_seen:.0%} of the sharp image is in the blurred shot",
                             "frame the blurred shot like the sharp one: the whole chart (or scene) must be in it")


def match_exposure(sharp: np.ndarray, aligned: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Per-channel gain/offset in linear light; measured on smoothed images (blur-insensitive)."""
    a = cv2.GaussianBlur(to_linear(sharp), (0, 0), 4)
    b = cv2.GaussianBlur(to_linear(aligned), (0, 0), 4)
    m = 16  # ignore borders, where the warp reflected
    a, b = a[m:-m, m:-m].reshape(-1, 3), b[m:-m, m:-m].reshape(-1, 3)
    gain, offset = np.ones(3, np.float32), np.zeros(3, np.float32)
    for c in range(3):
        A = np.stack([b[:, c], np.ones_like(b[:, c])], 1)
        sol, *_ = np.linalg.lstsq(A, a[:, c], rcond=None)
        gain[c], offset[c] = sol
    rmse = float(np.sqrt(((b * gain + offset - a) ** 2).mean()))
    return gain, offset, rmse
