"""Tests for 09_experiments (bonus): noise, the augmentation transform, sweeps and their plot,
then the Fashion-MNIST thresholds for the MLP of 06_mlp and the CNN of 07_cnn.

The augmentation is judged by what it does to an image (the angle it was turned by, the
statistics of the noise), so RandomRotation, RandomAffine, a Lambda or a callable class of your
own all pass. The Fashion-MNIST tests train your own MLP and CNN (loaded from the same folder
as this exercise) with the kit's harness; they wait until the rest of this exercise passes and
come out *blocked* while 06_mlp or 07_cnn is unfinished.
"""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.figure
import matplotlib.image
import numpy as np
import pytest
import torch
from torch import nn

from grader.checks.devices import HostFactories, Unmoved, on_device
from grader.core import kit
from grader.run.plain import plain as plain_value
from grader.train.harness import seed_everything

pytestmark = pytest.mark.bonus  # the scorecard counts this exercise's points as bonus points

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MEAN, STD = 0.1307, 0.3081
BACKGROUND = (0.0 - MEAN) / STD  # a black pixel after Normalize: -0.4242


# ---------------------------------------------------------------- add_gaussian_noise

def base_tensor(shape, device, dtype=torch.float32, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(*shape, generator=g, dtype=torch.float64).to(device=device, dtype=dtype)


def noisy(mod, x: torch.Tensor, std: float, generator=None) -> torch.Tensor:
    before = x.clone()
    with HostFactories():  # noise drawn without device=x.device fails here as it would on a GPU
        placed = mod.add_gaussian_noise.__wrapped__(on_device(x), std=std, generator=generator)
    out = plain_value(placed)  # the value as a plain tensor; `placed` still tells where it lives
    assert torch.equal(x, before), (
        "add_gaussian_noise changed its input x in place (x += noise, x.add_(...), x.normal_(...)): "
        "leave x alone and return a new tensor, x + std * noise")
    assert isinstance(out, torch.Tensor), f"add_gaussian_noise returned {type(out).__name__}, expected a tensor"
    assert not issubclass(type(placed), Unmoved), (
        "add_gaussian_noise returned a tensor on the host (made without device=, or brought back with .cpu()) "
        "for an x on the device: on a GPU the result would change device; keep it on x's device")
    return out


@pytest.mark.points(2)
def test_noise_keeps_shape_dtype_device_and_input(mod, device):
    for shape in [(3, 1, 28, 28), (5,), (2, 7)]:
        for dtype in (torch.float32, torch.float64):
            x = base_tensor(shape, device, dtype)
            out = noisy(mod, x, 0.5)
            assert tuple(out.shape) == shape, (
                f"add_gaussian_noise turned a tensor of shape {shape} into shape {tuple(out.shape)}: draw one "
                "noise value per element, with the shape of x (torch.randn(x.shape, ...) or torch.randn_like(x))")
            assert out.dtype == dtype, (
                f"add_gaussian_noise turned a {dtype} tensor into {out.dtype}: draw the noise with dtype=x.dtype")
            assert out.device.type == x.device.type, (
                f"add_gaussian_noise moved a tensor from {x.device} to {out.device}: draw the noise with "
                "device=x.device")
            assert not torch.equal(out, x), "add_gaussian_noise(x, std=0.5) returned x unchanged: add the noise"


@pytest.mark.points(2)
def test_noise_has_mean_zero_and_the_requested_std(mod, device):
    x = base_tensor((1000, 1000), device)
    for std in (0.5, 2.0):
        torch.manual_seed(0)
        diff = (noisy(mod, x, std) - x).double()
        mean, got = diff.mean().item(), diff.std().item()
        assert abs(mean) < 0.01 * std, (
            f"add_gaussian_noise(x, std={std}) added noise of mean {mean:.3f} instead of 0: draw it from the "
            "standard normal distribution, torch.randn (torch.rand is uniform on [0, 1) and has mean 0.5)")
        if not math.isclose(got, std, rel_tol=0.02):
            why = "multiply the standard normal noise by std"
            if math.isclose(got, std ** 2, rel_tol=0.02):
                why = "you scaled the noise by std**2, the variance: multiply torch.randn(...) by std itself"
            elif math.isclose(got, math.sqrt(std), rel_tol=0.02):
                why = "you scaled the noise by sqrt(std): multiply torch.randn(...) by std itself"
            elif math.isclose(got, 1.0, rel_tol=0.02):
                why = "the noise ignores std: multiply torch.randn(...) by std"
            raise AssertionError(f"add_gaussian_noise(x, std={std}) added noise whose standard deviation is "
                                 f"{got:.3f}, expected {std}: {why}")
        within = (diff.abs() < std).double().mean().item()
        assert abs(within - 0.6827) < 0.01, (
            f"{100 * within:.1f}% of the noise lies within one std of 0, but for Gaussian noise it is 68.3%: "
            "draw the noise with torch.randn (normal distribution), not torch.rand (uniform)")
    out = noisy(mod, x, 0.0)
    assert torch.equal(out, x), "add_gaussian_noise(x, std=0) must return values equal to x: no noise at all"


@pytest.mark.points(1)
def test_noise_is_repeatable_with_a_generator(mod, device):
    x = base_tensor((4, 1, 28, 28), device)

    def generator(seed: int) -> torch.Generator:
        return torch.Generator(device=device).manual_seed(seed)

    torch.manual_seed(1)
    first = noisy(mod, x, 0.3, generator(123))
    torch.manual_seed(2)
    second = noisy(mod, x, 0.3, generator(123))
    assert torch.equal(first, second), (
        "two calls with generators seeded alike (torch.Generator().manual_seed(123)) gave different noise: "
        "draw the noise from the generator you are given, torch.randn(x.shape, generator=generator, ...)")
    other = noisy(mod, x, 0.3, generator(124))
    assert not torch.equal(first, other), (
        "generators seeded differently gave the same noise: draw the noise from the generator you are given "
        "and do not re-seed anything inside add_gaussian_noise")
    torch.manual_seed(7)
    a = noisy(mod, x, 0.3)
    b = noisy(mod, x, 0.3)
    torch.manual_seed(7)
    c = noisy(mod, x, 0.3)
    assert not torch.equal(a, b), (
        "two calls in a row without a generator added the same noise: draw new noise on every call "
        "(do not create a freshly seeded generator inside the function)")
    assert torch.equal(a, c), (
        "with generator=None the noise must come from torch's global generator, so that torch.manual_seed "
        "makes it repeatable: use torch.randn (not NumPy or Python's random)")


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
    assert callable(tf), (
        f"augment_transform returned {type(tf).__name__}, which cannot be called on an image: return a "
        "transform such as transforms.Compose([...])")
    return tf


def apply(tf, image, what: str) -> torch.Tensor:
    try:
        out = tf(image)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise AssertionError(f"{what} raised {type(exc).__name__} on a 28x28 PIL image: {first}; rotate the PIL "
                             "image first, then ToTensor, Normalize and the noise") from exc
    assert isinstance(out, torch.Tensor), (
        f"{what} returned {type(out).__name__} for a PIL image, expected a tensor: ToTensor must come after "
        "the rotation")
    assert tuple(out.shape) == (1, 28, 28), f"{what} returned shape {tuple(out.shape)}, expected (1, 28, 28)"
    assert out.dtype == torch.float32, f"{what} returned {out.dtype}, expected float32"
    return out.detach().cpu().float()


def implied_normalisation(out: torch.Tensor, array: np.ndarray) -> str:
    """' (your output looks like Normalize(mean=m, std=s))' from a straight-line fit, or ''."""
    x = torch.from_numpy(array.astype(np.float64)).flatten() / 255
    y = out.double().flatten()
    slope = torch.cov(torch.stack([x, y]))[0, 1] / x.var()
    if not slope > 0:
        return ""
    intercept = y.mean() - slope * x.mean()
    if (y - (slope * x + intercept)).abs().max() > 1e-3 * max(1.0, float(y.abs().max())):
        return ""  # not a per-pixel rescaling of the image: nothing to say about the constants
    mean, std = float(-intercept / slope), float(1 / slope)
    if std < 0.01:
        return (" (your output looks like pixels 0..255 that were never scaled to [0, 1]: ToTensor divides a "
                "PIL image by 255, so use it before Normalize)")
    return f" (your output looks like x / 255 normalised with mean {mean:.4f} and std {std:.4f})"


@pytest.mark.points(2)
def test_augment_without_rotation_or_noise_is_plain_normalisation(mod):
    array = digit_array()
    tf = transform(mod, 0, 0)
    out = apply(tf, pil(array), "augment_transform(max_rotation=0, noise_std=0)")
    again = apply(tf, pil(array), "augment_transform(max_rotation=0, noise_std=0)")
    if not torch.equal(out, again):
        changed = (out != again).float().mean().item()
        if changed > 0.5:  # noise touches every pixel; a rotation only the pixels near the strokes
            pytest.fail("augment_transform(max_rotation=0, noise_std=0) added random noise: the output differs "
                        f"from call to call at {100 * changed:.0f}% of the pixels. With noise_std=0 it must add no "
                        "noise: pass noise_std on to the noise step")
        pytest.fail("augment_transform(max_rotation=0, noise_std=0) rotated the image: the output differs from call "
                    "to call around the strokes. With max_rotation=0 it must not rotate: pass max_rotation on to "
                    "the rotation")
    want = plain(array)
    assert torch.allclose(out, want, atol=1e-5), (
        "augment_transform(max_rotation=0, noise_std=0) must give exactly mnist_transform's result, "
        f"ToTensor then Normalize((0.1307,), (0.3081,)): x' = (x / 255 - 0.1307) / 0.3081"
        f"{implied_normalisation(out, array)}")


@pytest.mark.points(1)
@pytest.mark.needs("test_augment_without_rotation_or_noise_is_plain_normalisation")
def test_augment_noise_is_added_after_normalising(mod):
    array = digit_array()
    tf = transform(mod, 0, 0.3)
    seed_everything(0)
    outs = [apply(tf, pil(array), "augment_transform(max_rotation=0, noise_std=0.3)") for _ in range(40)]
    assert not torch.equal(outs[0], outs[1]), (
        "augment_transform(max_rotation=0, noise_std=0.3) gave the same output twice: draw new noise on every call")
    diff = torch.stack(outs) - plain(array)
    mean, std = diff.mean().item(), diff.std().item()
    assert abs(mean) < 0.02, (
        f"with max_rotation=0 the output minus the plain normalised image should be zero-mean noise, but its "
        f"mean is {mean:.3f}: add Gaussian noise (add_gaussian_noise) as the last step")
    if not math.isclose(std, 0.3, rel_tol=0.06):
        why = "add noise of standard deviation noise_std as the last step, after Normalize"
        if math.isclose(std, 0.3 / STD, rel_tol=0.06):
            why = ("you add the noise before Normalize, which divides it by 0.3081: add it last, to the "
                   "normalised tensor")
        elif math.isclose(std, 0.1, rel_tol=0.06):
            why = "the noise ignores noise_std (it looks like the default 0.1): pass noise_std on"
        raise AssertionError(f"augment_transform(max_rotation=0, noise_std=0.3) added noise with standard deviation "
                             f"{std:.3f}, expected 0.3 in normalised units: {why}")


class AngleFinder:
    """Estimate by how many degrees an output of the transform was rotated, by comparing it
    with the image rotated by every whole degree (bilinear, so any interpolation matches)."""

    def __init__(self, array: np.ndarray) -> None:
        from PIL import Image

        self.angles = np.arange(-180, 180)
        image = pil(array)
        self.references = np.stack([np.asarray(image.rotate(float(a), resample=Image.BILINEAR), dtype=np.float32)
                                    for a in self.angles]).reshape(len(self.angles), -1) / 255

    def __call__(self, out: torch.Tensor) -> tuple[float, float]:
        """(angle in degrees, mean absolute pixel difference to the best rotated copy)."""
        pixels = (out.numpy() * STD + MEAN).reshape(-1)
        distance = np.abs(self.references - pixels).mean(axis=1)
        best = int(distance.argmin())
        return float(self.angles[best]), float(distance[best])


def rotation_angles(tf, what: str, n: int = 60):
    """Apply tf to the test digit n times: (outputs, estimated angles, residuals)."""
    array = digit_array()
    finder = AngleFinder(array)
    seed_everything(0)
    outs = [apply(tf, pil(array), what) for _ in range(n)]
    fits = [finder(out) for out in outs]
    return outs, [a for a, _ in fits], [r for _, r in fits]


def check_angles(what: str, max_rotation: float, angles: list[float]) -> None:
    worst = max(angles, key=abs)
    assert abs(worst) <= max_rotation + 3, (
        f"{what} rotated the image by about {worst:g} degrees, more than max_rotation = {max_rotation:g}: "
        "draw the angle uniformly from [-max_rotation, max_rotation] (transforms.RandomRotation(max_rotation))")
    assert len(set(angles)) >= 5, (
        f"{what} rotated the image by the same angle (about {worst:g} degrees) on every call: draw a new random "
        "angle on every call (transforms.RandomRotation does)")
    assert abs(worst) >= 0.6 * max_rotation, (
        f"{what} never rotated by more than {abs(worst):g} degrees in {len(angles)} calls: the angle must "
        f"reach up to max_rotation = {max_rotation:g} degrees, so pass max_rotation on instead of a fixed value")
    assert min(angles) < -max_rotation / 3 and max(angles) > max_rotation / 3, (
        f"{what} only rotated one way (angles from {min(angles):g} to {max(angles):g} degrees over "
        f"{len(angles)} calls): draw from [-max_rotation, max_rotation]; RandomRotation(d) does, "
        "RandomRotation((0, d)) does not")


@pytest.mark.points(1)
@pytest.mark.parametrize("max_rotation", [15.0, 40.0])
def test_augment_rotation_is_random_and_bounded(mod, max_rotation):
    what = f"augment_transform(max_rotation={max_rotation:g}, noise_std=0)"
    still, image = transform(mod, 0, 0.0), pil(digit_array())
    first, second = (apply(still, image, "augment_transform(max_rotation=0, noise_std=0)") for _ in range(2))
    if (first != second).float().mean().item() > 0.5:
        return  # noise although noise_std=0: the plain-normalisation test says so, and angles cannot be measured
    outs, angles, residuals = rotation_angles(transform(mod, max_rotation, 0.0), what)
    check_angles(what, max_rotation, angles)
    assert max(residuals) < 0.06, (
        f"{what} changed the image in some way other than a rotation about its centre (the best rotated copy "
        f"still differs by {max(residuals):.3f} per pixel on average): rotate only (no flip, shift or scaling)")
    stacked = torch.stack(outs)
    yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    corners = ((yy - 13.5) ** 2 + (xx - 13.5) ** 2).sqrt() > 13.0
    worst = (stacked[:, 0][:, corners] - BACKGROUND).abs().max().item()
    assert worst < 1e-3, (
        f"{what}: the corners that come into view when the image turns should be background (black, "
        f"{BACKGROUND:.4f} after Normalize), but they hold other values (off by up to {worst:.3f}): rotate the "
        "PIL image (or the [0, 1] tensor) before Normalize; rotating the normalised tensor fills the corners "
        "with 0, which is grey")


@pytest.mark.points(1)
def test_augment_defaults(mod):
    from PIL import Image

    tf = mod.augment_transform()
    assert callable(tf), f"augment_transform() returned {type(tf).__name__}: return a transform"
    blank = np.zeros((28, 28), dtype=np.uint8)
    seed_everything(0)
    outs = torch.stack([apply(tf, Image.fromarray(blank, mode="L"), "augment_transform()") for _ in range(40)])
    std = (outs - plain(blank)).std().item()
    assert math.isclose(std, 0.1, rel_tol=0.06), (
        f"augment_transform() added noise of standard deviation {std:.3f} to a black image; the default "
        "noise_std is 0.1 (in normalised units, added after Normalize)")
    _, angles, _ = rotation_angles(tf, "augment_transform()")
    check_angles("augment_transform()", 15.0, angles)


# ---------------------------------------------------------------- run_sweep and plot_sweep

class Probe:
    """A stand-in for training: records every value it is called with and returns an accuracy."""

    def __init__(self, table: dict) -> None:
        self.table = table
        self.calls: list = []

    def __call__(self, value):
        self.calls.append(value)
        return self.table[value]


LR_TABLE = {0.1: 91.5, 0.01: 97.25, 0.001: 97.9, 0.0001: 94.0}
HIDDEN_TABLE = {512: 97.8, 64: 96.9, 256: 97.95, 128: 97.6}


@pytest.mark.points(2)
def test_run_sweep_calls_each_value_once_in_order(mod):
    for table, kind in ((LR_TABLE, list), (HIDDEN_TABLE, tuple)):
        values = kind(table)
        probe = Probe(table)
        results = mod.run_sweep(values, probe)
        assert probe.calls, "run_sweep never called train_and_evaluate: call it once for every value"
        if sorted(probe.calls) == sorted(values) and probe.calls != list(values):
            raise AssertionError(
                f"run_sweep called train_and_evaluate with the values in the order {probe.calls}, expected "
                f"{list(values)}: go through the values in the order given")
        missing = [v for v in values if v not in probe.calls]
        assert not missing, (
            f"run_sweep never called train_and_evaluate with the value(s) {missing} of {list(values)}: the sweep "
            "must try every value it is given")
        assert probe.calls == list(values), (
            f"run_sweep called train_and_evaluate {len(probe.calls)} times, with {probe.calls}, for the values "
            f"{list(values)}: call it exactly once per value, in order (training is the expensive part: keep "
            "each result instead of calling again)")
        assert isinstance(results, list), f"run_sweep returned {type(results).__name__}, expected a list of dicts"
        assert len(results) == len(values), (
            f"run_sweep returned {len(results)} results for {len(values)} values: one dict per value")
        for i, result in enumerate(results):
            assert isinstance(result, dict) and "value" in result and "accuracy" in result, (
                f"run_sweep's result {i} is {result!r}; each must be a dict {{'value': v, 'accuracy': a}}")
        got = [r["value"] for r in results]
        assert got == list(values), (
            f"run_sweep's results hold the values {got}, expected {list(values)}: keep the results in the "
            "order of values (do not sort them, e.g. by accuracy)")
        for value, result in zip(values, results):
            assert result["accuracy"] == table[value], (
                f"run_sweep stored accuracy {result['accuracy']!r} for value {value!r}, but train_and_evaluate"
                f"({value!r}) returned {table[value]!r}: store exactly what it returned for that value")


def sweep_results(table: dict) -> list[dict]:
    return [{"value": v, "accuracy": a} for v, a in table.items()]


def call_plot(mod, results, path: Path, xlabel: str):
    try:
        return mod.plot_sweep(results, path, xlabel)
    except FileNotFoundError as exc:
        pytest.fail(f"plot_sweep could not write {path} ({exc}): create the missing folders first with "
                    "Path(path).parent.mkdir(parents=True, exist_ok=True)")


@pytest.mark.points(1)
def test_plot_sweep_writes_png(mod, tmp_path):
    path = tmp_path / "figures" / "sweep 1" / "hidden.png"
    result = call_plot(mod, sweep_results(HIDDEN_TABLE), path, "hidden units")
    assert path.is_file(), f"plot_sweep wrote no file at the path it was given ({path})"
    assert result is not None and Path(result) == path, f"plot_sweep must return the path it wrote ({path}), got {result!r}"
    assert path.read_bytes()[:8] == PNG_MAGIC, (
        "plot_sweep wrote a file that is not a PNG: save with fig.savefig(path) where path ends in .png")
    pixels = matplotlib.image.imread(path)
    height, width = pixels.shape[:2]
    assert pixels.ndim == 3 and 100 <= height <= 5000 and 100 <= width <= 5000, (
        f"plot_sweep wrote a {width}x{height} pixel image: give the figure a sensible size (figsize, dpi)")


def as_numbers(values) -> np.ndarray | None:
    """Floats from numbers or number-like strings (category axes, tick labels), else None."""
    try:
        return np.array([float(str(v).replace("\u2212", "-").strip("$ ")) if isinstance(v, str) else float(v)
                         for v in np.ravel(np.asarray(values, dtype=object))])
    except (TypeError, ValueError):
        return None


def tick_values(ax, positions: np.ndarray) -> np.ndarray | None:
    """The numbers written as x tick labels at ``positions`` (a categorical or relabelled axis)."""
    labels = {round(float(p), 6): label.get_text() for p, label in zip(ax.get_xticks(), ax.get_xticklabels())}
    try:
        return as_numbers([labels[round(float(p), 6)] for p in positions])
    except KeyError:
        return None


def series(ax):
    """(x, y) of every data series on ax: lines, scatter points, bars."""
    found = []
    for line in ax.get_lines():
        found.append((line.get_xdata(orig=True), np.asarray(line.get_ydata(), dtype=float)))
    for coll in ax.collections:
        offsets = np.asarray(coll.get_offsets(), dtype=float).reshape(-1, 2)
        if len(offsets):
            found.append((offsets[:, 0], offsets[:, 1]))
    bars = [p for p in ax.patches if hasattr(p, "get_height") and hasattr(p, "get_x")]
    if bars:
        found.append((np.array([b.get_x() + b.get_width() / 2 for b in bars]),
                      np.array([b.get_height() for b in bars], dtype=float)))
    return found


def shows_points(ax, values: list, accuracies: list) -> bool:
    want = sorted(zip(values, accuracies))
    for x, y in series(ax):
        if len(y) != len(values):
            continue
        for xs in (as_numbers(x), tick_values(ax, as_numbers(x)) if as_numbers(x) is not None else None):
            if xs is not None and len(xs) == len(y):
                got = sorted(zip(xs.tolist(), y.tolist()))
                if np.allclose(got, want, rtol=1e-6, atol=1e-9):
                    return True
    return False


@pytest.mark.points(1)
def test_plot_sweep_shows_accuracy_against_value(mod, tmp_path, monkeypatch):
    saved: list = []
    original = matplotlib.figure.Figure.savefig

    def spy(self, *args, **kwargs):
        saved.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    values, accuracies = list(LR_TABLE), list(LR_TABLE.values())
    call_plot(mod, sweep_results(LR_TABLE), tmp_path / "lr.png", "learning rate")
    assert saved, "plot_sweep saved no matplotlib figure: draw with fig, ax = plt.subplots() and save with fig.savefig(path)"
    fig = saved[-1]
    axes = [ax for ax in fig.axes if shows_points(ax, values, accuracies)]
    if not axes:
        flipped = [ax for ax in fig.axes if shows_points_flipped(ax, values, accuracies)]
        hint = (" You put the accuracies on the x axis: plot ax.plot(values, accuracies)." if flipped else "")
        pytest.fail(
            f"no axes of the sweep plot shows the accuracies {accuracies} (y) against the values {values} (x): "
            f"draw e.g. ax.plot(values, accuracies, marker='o') with values = [r['value'] for r in results].{hint}")
    labels = [ax.get_xlabel() for ax in axes]
    assert any("learning rate" in label for label in labels), (
        f"the x axis of the sweep plot is labelled {labels[0]!r}; label it with the xlabel argument "
        "('learning rate' here): ax.set_xlabel(xlabel)")


def shows_points_flipped(ax, values: list, accuracies: list) -> bool:
    for x, _y in series(ax):
        xs = as_numbers(x)
        if xs is not None and len(xs) == len(values) and np.allclose(sorted(xs), sorted(accuracies)):
            return True
    return False


# ---------------------------------------------------------------- Fashion-MNIST (bonus thresholds)

OWN_TESTS = ("test_noise_keeps_shape_dtype_device_and_input", "test_noise_has_mean_zero_and_the_requested_std",
             "test_noise_is_repeatable_with_a_generator",
             "test_augment_without_rotation_or_noise_is_plain_normalisation",
             "test_augment_noise_is_added_after_normalising", "test_augment_rotation_is_random_and_bounded",
             "test_augment_defaults", "test_run_sweep_calls_each_value_once_in_order",
             "test_plot_sweep_writes_png", "test_plot_sweep_shows_accuracy_against_value")

# The harness trains the learner's model on the 60,000 Fashion-MNIST training images (Adam, LR
# decaying linearly to 0) and scores it on the official 10,000 test images; the thresholds and
# training settings are in exercises/kit.toml, measured against the reference by `grader calibrate`.
FASHION = {
    "mlp": dict(exercise="06_mlp", module="mlp", name="MLP", parameters=109_386, test="test_fashion_mnist_mlp"),
    "cnn": dict(exercise="07_cnn", module="cnn", name="SimpleCNN", parameters=421_642, test="test_fashion_mnist_cnn"),
}


def learners_model(spec: dict, device) -> nn.Module:
    """The learner's model from 06_mlp / 07_cnn, built with its defaults; blocked when unfinished."""
    from grader.run.loader import ModuleLoadError
    from grader.run.plugin import BLOCKED_PREFIX, load

    exercise, name = spec["exercise"], spec["name"]
    finish = f"{BLOCKED_PREFIX}finish {exercise} first (pytest exercises/{exercise} should pass)"
    try:
        module = load(exercise, spec["module"])
    except ModuleLoadError as exc:
        pytest.skip(f"{finish}: {exc}")
    builder = getattr(module, name, None)
    if builder is None:
        pytest.skip(f"{finish}: {spec['module']}.py defines no {name}")
    seed_everything(0)
    try:
        model = builder()
        assert isinstance(model, nn.Module)
        model.to(device).eval()
        with torch.no_grad():
            out = model(torch.zeros(2, 1, 28, 28, device=device))
    except NotImplementedError:
        pytest.skip(f"{finish}: its {name} is still a stub")
    except AssertionError:
        pytest.skip(f"{finish}: {name}() is not an nn.Module")
    except Exception as exc:  # noqa: BLE001 - a broken architecture blocks, it is not this exercise's fault
        pytest.skip(f"{finish}: {name}() on images of shape (2, 1, 28, 28) raised {type(exc).__name__}")
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != (2, 10):
        shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        pytest.skip(f"{finish}: {name}() returns {shape} for 2 images instead of logits of shape (2, 10)")
    count = sum(p.numel() for p in model.parameters() if p.requires_grad)
    if count != spec["parameters"]:
        pytest.skip(f"{finish}: {name}() has {count:,} trainable parameters instead of {spec['parameters']:,}")
    return model


def fashion_threshold(key: str, device, metrics: dict, progress) -> None:
    from grader.data.datasets import DatasetUnavailable
    from grader.run.plugin import BLOCKED_PREFIX, load
    from grader.train.harness import judge_threshold

    spec = FASHION[key]
    learners_model(spec, device)  # blocks the test unless the learner's model is ready
    build = getattr(load(spec["exercise"], spec["module"]), spec["name"])
    threshold = kit.threshold("09_experiments", spec["test"])
    try:
        verdict = judge_threshold(build, "fashion", threshold.threshold, band=threshold.band, device=device,
                                  progress=progress, **threshold.training())
    except DatasetUnavailable as exc:
        pytest.skip(f"{BLOCKED_PREFIX}Fashion-MNIST is not available: {str(exc).splitlines()[0]} "
                    "(run `grader data` to see what to do)")
    metrics.update(verdict.metrics("fashion"))
    assert verdict.passed, (
        f"your {spec['name']}() from {spec['exercise']} on the 10,000 Fashion-MNIST test images: "
        f"{verdict.describe()}; the reference "
        f"{spec['name']} clears it with these settings: the same architecture that passes {spec['exercise']} "
        "should too, so check that forward uses nothing tuned to digits (e.g. fixed MNIST constants) and "
        "that every layer of the README is there")


@pytest.mark.points(2)
@pytest.mark.needs(*OWN_TESTS)
def test_fashion_mnist_mlp(device, metrics, progress):
    fashion_threshold("mlp", device, metrics, progress)


@pytest.mark.points(3)
@pytest.mark.needs(*OWN_TESTS)
def test_fashion_mnist_cnn(device, metrics, progress):
    fashion_threshold("cnn", device, metrics, progress)
