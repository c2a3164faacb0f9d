"""Tests of 09_experiments/experiments.py (bonus): augment_transform.

Judged by what the transform does to an image (the angle it turned it by, the noise's statistics),
so RandomRotation, RandomAffine, a Lambda or a class of your own all pass. "not started": the test
reached a stub's NotImplementedError; "blocked": a test it needs (@needs) has not passed yet.
Hints: `grader hint 09`.
"""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

from grader.checks.reference import seed_everything
from grader.core import failures
from grader.core.failures import Failure

FAIL = failures.table(__file__)

GRADES = "experiments"
MEAN, STD = 0.1307, 0.3081
MNIST_FIT = (1 / STD, -MEAN / STD)  # (slope, intercept) of ToTensor then Normalize((MEAN,), (STD,)) on x / 255
_YY, _XX = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
CORNERS = ((_YY - 13.5) ** 2 + (_XX - 13.5) ** 2).sqrt() > 13.0  # pixels a rotation can move out of the frame
NOISE_TESTS = ("test_noise_has_mean_zero_and_the_requested_std",)  # the transform's noise step is add_gaussian_noise


# ---------------------------------------------------------------- augment_transform

def digit_array() -> np.ndarray:
    """A 28x28 uint8 '7' with a dot: no rotational symmetry, well inside the inscribed circle."""
    a = np.zeros((28, 28), dtype=np.uint8)
    a[6:9, 8:21] = 255  # the top bar
    for row in range(8, 23):  # the stroke going down to the left
        col = int(round(20 - (row - 8) * 0.6))
        a[row, col - 1:col + 2] = 230
    a[14:17, 11:14] = 160  # a dot left of the stroke
    return a


def pil(array: np.ndarray):
    from PIL import Image

    return Image.fromarray(array, mode="L")


def plain(array: np.ndarray) -> torch.Tensor:
    return ((torch.from_numpy(array.astype(np.float32)) / 255 - MEAN) / STD).unsqueeze(0)


def transform(mod, max_rotation: float, noise_std: float):
    tf = mod.augment_transform(max_rotation=max_rotation, noise_std=noise_std)
    if not callable(tf):
        raise FAIL("transform_not_callable", type=type(tf).__name__)
    return tf


def apply(tf, image, what: str) -> torch.Tensor:
    try:
        out = tf(image)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise FAIL("transform_crashed", what=what, error=type(exc).__name__, text=first) from exc
    if not isinstance(out, torch.Tensor):
        raise FAIL("transform_not_tensor", what=what, type=type(out).__name__)
    if tuple(out.shape) != (1, 28, 28):
        raise FAIL("transform_shape", what=what, shape=tuple(out.shape))
    if out.dtype != torch.float32:
        raise FAIL("transform_dtype", what=what, dtype=out.dtype)
    return out.detach().cpu().float()


def fitted_normalisation(out: torch.Tensor, array: np.ndarray) -> tuple[float, float] | None:
    """(slope, intercept) with out = slope * array / 255 + intercept at every pixel, or None when the
    output is no such per-pixel rescaling of the image. MNIST's Normalize gives (1 / 0.3081, -0.1307 / 0.3081)."""
    x = torch.from_numpy(array.astype(np.float64)).flatten() / 255
    y = out.double().flatten()
    slope = torch.cov(torch.stack([x, y]))[0, 1] / x.var()
    if not slope > 0:
        return None
    intercept = y.mean() - slope * x.mean()
    if (y - (slope * x + intercept)).abs().max() > 1e-3 * max(1.0, float(y.abs().max())):
        return None
    return float(slope), float(intercept)


def implied_normalisation(out: torch.Tensor, array: np.ndarray) -> Failure | str:
    """' (your output looks like Normalize(mean=m, std=s))' from a straight-line fit, or ''."""
    fit = fitted_normalisation(out, array)
    if fit is None:
        return ""  # not a per-pixel rescaling of the image: nothing to say about the constants
    slope, intercept = fit
    if 1 / slope < 0.01:
        return FAIL("looks_unscaled")
    return FAIL("looks_normalised_with", mean=-intercept / slope, std=1 / slope)


def own_normalisation(mod) -> tuple[float, float] | None:
    """(slope, intercept) of the learner's normalisation, from augment_transform(0, 0) on the test digit,
    or None when that is no per-pixel rescaling. The rotation checks undo it, so that wrong constants
    (which the plain-normalisation test reports) do not look like a wrong rotation."""
    array = digit_array()
    return fitted_normalisation(apply(transform(mod, 0, 0), pil(array), "augment_transform(max_rotation=0, "
                                      "noise_std=0)"), array)


def noise_cause(std: float, want: float) -> Failure:
    """Why the transform's noise has standard deviation ``std`` instead of ``want``, from the value seen."""
    if math.isclose(std, want / STD, rel_tol=0.06):
        return FAIL("noise_before_normalize")
    if math.isclose(std, 0.1, rel_tol=0.06):
        return FAIL("noise_std_not_passed")
    return FAIL("noise_last_with_noise_std")


def ignores_image(tf) -> bool:
    """Whether ``tf`` gives the same output for the test digit and for a blank image."""
    outs = [apply(tf, pil(array), "augment_transform(max_rotation=0, noise_std=0)")
            for array in (digit_array(), np.zeros((28, 28), dtype=np.uint8))]
    return torch.equal(*outs)


@pytest.mark.points(2)
def test_augment_without_rotation_or_noise_is_plain_normalisation(mod):
    array = digit_array()
    tf = transform(mod, 0, 0)
    out = apply(tf, pil(array), "augment_transform(max_rotation=0, noise_std=0)")
    again = apply(tf, pil(array), "augment_transform(max_rotation=0, noise_std=0)")
    if not torch.equal(out, again):
        changed = (out != again).float().mean().item()
        if changed > 0.5:  # noise touches every pixel; a rotation only the pixels near the strokes
            raise FAIL("noise_without_noise_std", changed=100 * changed)
        raise FAIL("rotation_without_max_rotation")
    if ignores_image(tf):
        raise FAIL("output_ignores_image")
    want = plain(array)
    if not torch.allclose(out, want, atol=1e-5) and fitted_normalisation(out, array) is None:
        angle, residual = AngleFinder(array, MNIST_FIT)(out)
        if angle != 0 and residual < 0.06:
            raise FAIL("rotated_by_fixed_angle", angle=angle)
    if not torch.allclose(out, want, atol=1e-5):
        raise FAIL("not_plain_normalisation", implied=implied_normalisation(out, array))


@pytest.mark.points(1)
@pytest.mark.needs("test_augment_without_rotation_or_noise_is_plain_normalisation", *NOISE_TESTS)
def test_augment_noise_is_added_after_normalising(mod):
    array = digit_array()
    tf = transform(mod, 0, 0.3)
    seed_everything(0)
    outs = [apply(tf, pil(array), "augment_transform(max_rotation=0, noise_std=0.3)") for _ in range(40)]
    if torch.equal(outs[0], outs[1]):
        raise FAIL("same_noise_twice")
    diff = torch.stack(outs) - plain(array)
    mean, std = diff.mean().item(), diff.std().item()
    if not abs(mean) < 0.02:
        raise FAIL("noise_not_zero_mean", mean=mean)
    if not math.isclose(std, 0.3, rel_tol=0.06):
        raise FAIL("transform_noise_std", std=std, cause=noise_cause(std, 0.3))


class AngleFinder:
    """Estimate by how many degrees an output of the transform was rotated, by comparing it
    with the image rotated by every whole degree (bilinear, so any interpolation matches)."""

    def __init__(self, array: np.ndarray, normalisation: tuple[float, float]) -> None:
        from PIL import Image

        self.slope, self.intercept = normalisation
        self.angles = np.arange(-180, 180)
        image = pil(array)
        self.references = np.stack([np.asarray(image.rotate(float(a), resample=Image.BILINEAR), dtype=np.float32)
                                    for a in self.angles]).reshape(len(self.angles), -1) / 255

    def __call__(self, out: torch.Tensor) -> tuple[float, float]:
        """(angle in degrees, mean absolute pixel difference to the best rotated copy)."""
        pixels = ((out.numpy() - self.intercept) / self.slope).reshape(-1)
        distance = np.abs(self.references - pixels).mean(axis=1)
        best = int(distance.argmin())
        return float(self.angles[best]), float(distance[best])


def rotation_angles(tf, what: str, normalisation: tuple[float, float], n: int = 60):
    """Apply tf to the test digit n times: (outputs, estimated angles, residuals)."""
    array = digit_array()
    finder = AngleFinder(array, normalisation)
    seed_everything(0)
    outs = [apply(tf, pil(array), what) for _ in range(n)]
    fits = [finder(out) for out in outs]
    return outs, [a for a, _ in fits], [r for _, r in fits]


def check_angles(what: str, max_rotation: float, angles: list[float]) -> None:
    worst = max(angles, key=abs)
    if not abs(worst) <= max_rotation + 3:
        raise FAIL("rotation_beyond_max", what=what, worst=worst, max_rotation=max_rotation)
    if len(set(angles)) < 5:
        raise FAIL("rotation_not_random", what=what, worst=worst)
    if not abs(worst) >= 0.6 * max_rotation:
        raise FAIL("rotation_too_small", what=what, worst=abs(worst), calls=len(angles), max_rotation=max_rotation)
    if not (min(angles) < -max_rotation / 3 and max(angles) > max_rotation / 3):
        raise FAIL("rotation_one_way", what=what, low=min(angles), high=max(angles), calls=len(angles))


@pytest.mark.points(1)
@pytest.mark.parametrize("max_rotation", [15.0, 40.0])
def test_augment_rotation_is_random_and_bounded(mod, max_rotation):
    what = f"augment_transform(max_rotation={max_rotation:g}, noise_std=0)"
    still, image = transform(mod, 0, 0.0), pil(digit_array())
    first, second = (apply(still, image, "augment_transform(max_rotation=0, noise_std=0)") for _ in range(2))
    if (first != second).float().mean().item() > 0.5 or ignores_image(still):
        return  # noise although noise_std=0, or an output without the image: the plain-normalisation test says so
    fitted = own_normalisation(mod)
    normalisation = fitted or MNIST_FIT
    outs, angles, residuals = rotation_angles(transform(mod, max_rotation, 0.0), what, normalisation)
    check_angles(what, max_rotation, angles)
    if not max(residuals) < 0.06:
        raise FAIL("not_only_a_rotation", what=what, residual=max(residuals),
                   unfitted=FAIL("no_rescaling_either") if fitted is None else FAIL("rotate_only"))
    stacked = torch.stack(outs)
    background = normalisation[1]  # a black pixel after your Normalize
    worst = (stacked[:, 0][:, CORNERS] - background).abs().max().item()
    if not worst < 1e-3:
        raise FAIL("corners_not_background", what=what, background=background, worst=worst)


def blank_noise_std(tf, what: str) -> float:
    """Standard deviation of what ``tf`` adds to a black image over 40 calls, outside the corners (which also
    show how the rotation fills them)."""
    from PIL import Image

    blank = np.zeros((28, 28), dtype=np.uint8)
    seed_everything(0)
    outs = torch.stack([apply(tf, Image.fromarray(blank, mode="L"), what) for _ in range(40)])
    return (outs - plain(blank))[:, 0][:, ~CORNERS].std().item()


@pytest.mark.points(1)
@pytest.mark.needs(*NOISE_TESTS)
def test_augment_defaults(mod):
    tf = mod.augment_transform()
    if not callable(tf):
        raise FAIL("default_not_callable", type=type(tf).__name__)
    explicit = transform(mod, 15.0, 0.1)
    std, explicit_std = blank_noise_std(tf, "augment_transform()"), blank_noise_std(explicit, "augment_transform(15, 0.1)")
    cause = noise_cause(std, 0.1)
    if math.isclose(explicit_std, 0.1, rel_tol=0.06):
        cause = FAIL("default_noise_std_wrong")
    if not math.isclose(std, 0.1, rel_tol=0.06):
        raise FAIL("default_noise_std", std=std, cause=cause)
    if ignores_image(transform(mod, 0, 0)):
        return  # no angle can be measured: the plain-normalisation test says the output ignores the image
    normalisation = own_normalisation(mod) or MNIST_FIT
    _, angles, _ = rotation_angles(tf, "augment_transform()", normalisation)
    _, explicit_angles, _ = rotation_angles(explicit, "augment_transform(max_rotation=15)", normalisation)
    check_angles("augment_transform(max_rotation=15)", 15.0, explicit_angles)  # the rotation itself is off
    try:
        check_angles("augment_transform()", 15.0, angles)
    except Failure as exc:
        raise FAIL("default_max_rotation", worst=max(abs(a) for a in angles), calls=len(angles)) from exc
