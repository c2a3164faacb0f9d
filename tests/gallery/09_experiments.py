"""Mistake gallery for 09_experiments: broken implementations that must fail, and correct
alternative styles that must pass. Each ``code`` is appended to a copy of the solution module.

The copy holds only 09_experiments, so the Fashion-MNIST threshold tests would be blocked
(06_mlp and 07_cnn are missing): every entry names the fast tests it is graded on.
"""

NOISE = ["test_noise_keeps_shape_dtype_device_and_input", "test_noise_has_mean_zero_and_the_requested_std",
         "test_noise_is_repeatable_with_a_generator"]
AUGMENT = ["test_augment_without_rotation_or_noise_is_plain_normalisation",
           "test_augment_noise_is_added_after_normalising", "test_augment_rotation_is_random_and_bounded",
           "test_augment_defaults"]
SWEEP = ["test_run_sweep_calls_each_value_once_in_order", "test_plot_sweep_writes_png",
         "test_plot_sweep_shows_accuracy_against_value"]

SLOW = ['test_fashion_mnist_mlp', 'test_fashion_mnist_cnn']  # tests a mutant runs only when its `fails` names them

MUTANTS = [
    {"name": "noise added in place", "also_fails": ['test_noise_has_mean_zero_and_the_requested_std', 'test_noise_is_repeatable_with_a_generator'],
     "fails": "test_noise_keeps_shape_dtype_device_and_input",
     "says": "in place", "code": '''
def add_gaussian_noise(x, std=0.1, generator=None):
    return x.add_(std * torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device))
'''},
    {"name": "noise scaled by the variance std**2", "fails": "test_noise_has_mean_zero_and_the_requested_std",
     "says": "std**2", "code": '''
def add_gaussian_noise(x, std=0.1, generator=None):
    return x + std ** 2 * torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
'''},
    {"name": "uniform noise with the right std", "fails": "test_noise_has_mean_zero_and_the_requested_std",
     "says": "but for Gaussian noise it is 68.3%", "code": '''
def add_gaussian_noise(x, std=0.1, generator=None):
    u = torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device) - 0.5
    return x + std * 12 ** 0.5 * u
'''},
    {"name": "uniform noise torch.rand (mean 0.5)", "fails": "test_noise_has_mean_zero_and_the_requested_std",
     "says": "instead of 0: draw it from the", "code": '''
def add_gaussian_noise(x, std=0.1, generator=None):
    return x + std * torch.rand(x.shape, generator=generator, dtype=x.dtype, device=x.device)
'''},
    {"name": "noise drawn on the host (no device=x.device)", "also_fails": ['test_noise_has_mean_zero_and_the_requested_std', 'test_noise_is_repeatable_with_a_generator'],
     "fails": "test_noise_keeps_shape_dtype_device_and_input",
     "says": "created without device=", "code": '''
def add_gaussian_noise(x, std=0.1, generator=None):
    return x + std * torch.randn(x.shape, generator=generator, dtype=x.dtype)
'''},
    {"name": "noise ignores the generator", "fails": "test_noise_is_repeatable_with_a_generator",
     "says": "draw the noise from the generator you are given", "code": '''
def add_gaussian_noise(x, std=0.1, generator=None):
    return x + std * torch.randn(x.shape, dtype=x.dtype, device=x.device)
'''},
    {"name": "noise from a generator re-seeded inside", "fails": "test_noise_is_repeatable_with_a_generator",
     "also_fails": ["test_augment_noise_is_added_after_normalising"], "says": "new noise on every call", "code": '''
def add_gaussian_noise(x, std=0.1, generator=None):
    g = generator if generator is not None else torch.Generator(device=x.device).manual_seed(0)
    return x + std * torch.randn(x.shape, generator=g, dtype=x.dtype, device=x.device)
'''},
    {"name": "NumPy noise turns float32 into float64", "also_fails": ['test_noise_is_repeatable_with_a_generator', 'test_augment_without_rotation_or_noise_is_plain_normalisation', 'test_augment_rotation_is_random_and_bounded', 'test_augment_defaults'],
     "fails": "test_noise_keeps_shape_dtype_device_and_input",
     "says": "dtype=x.dtype", "also": ["draw the noise from the generator you are given"], "code": '''
import numpy as np


def add_gaussian_noise(x, std=0.1, generator=None):
    noise = torch.from_numpy(np.random.normal(0.0, std, size=tuple(x.shape)))
    return x + noise.to(x.device)
'''},
    {"name": "augmentation with the wrong normalisation constants",
     "fails": "test_augment_without_rotation_or_noise_is_plain_normalisation",
     "says": "mean 0.5000 and std 0.5000", "code": '''
def augment_transform(max_rotation=15.0, noise_std=0.1):
    return transforms.Compose([
        transforms.RandomRotation(max_rotation), transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,)),
        transforms.Lambda(lambda t: add_gaussian_noise(t, noise_std)),
    ])
'''},
    {"name": "augmentation without ToTensor's scaling (pixels 0..255)",
     "fails": "test_augment_without_rotation_or_noise_is_plain_normalisation", "says": "never scaled to [0, 1]", "code": '''
import numpy as np


def augment_transform(max_rotation=15.0, noise_std=0.1):
    def to_tensor(image):
        return torch.from_numpy(np.array(image, dtype=np.float32)).unsqueeze(0)

    return transforms.Compose([
        transforms.RandomRotation(max_rotation), transforms.Lambda(to_tensor),
        transforms.Normalize((MNIST_MEAN,), (MNIST_STD,)),
        transforms.Lambda(lambda t: add_gaussian_noise(t, noise_std)),
    ])
'''},
    {"name": "rotation by a fixed 90 degrees", "also_fails": ['test_augment_without_rotation_or_noise_is_plain_normalisation', 'test_augment_defaults'],
     "fails": "test_augment_rotation_is_random_and_bounded",
     "says": "more than max_rotation", "also": ["pass max_rotation on"], "code": '''
def augment_transform(max_rotation=15.0, noise_std=0.1):
    return transforms.Compose([
        transforms.Lambda(lambda image: image.rotate(90)), transforms.ToTensor(),
        transforms.Normalize((MNIST_MEAN,), (MNIST_STD,)),
        transforms.Lambda(lambda t: add_gaussian_noise(t, noise_std)),
    ])
'''},
    {"name": "rotation hard-coded to 15 degrees", "also_fails": ['test_augment_without_rotation_or_noise_is_plain_normalisation'],
     "fails": "test_augment_rotation_is_random_and_bounded",
     "says": "pass max_rotation on", "code": '''
def augment_transform(max_rotation=15.0, noise_std=0.1):
    return transforms.Compose([
        transforms.RandomRotation(15), transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,)),
        transforms.Lambda(lambda t: add_gaussian_noise(t, noise_std)),
    ])
'''},
    {"name": "rotation in one direction only", "also_fails": ['test_augment_defaults'],
     "fails": "test_augment_rotation_is_random_and_bounded",
     "says": "only rotated one way", "code": '''
def augment_transform(max_rotation=15.0, noise_std=0.1):
    return transforms.Compose([
        transforms.RandomRotation((0, max_rotation)), transforms.ToTensor(),
        transforms.Normalize((MNIST_MEAN,), (MNIST_STD,)),
        transforms.Lambda(lambda t: add_gaussian_noise(t, noise_std)),
    ])
'''},
    {"name": "rotation of the normalised tensor (grey corners)", "fails": "test_augment_rotation_is_random_and_bounded",
     "says": "corners", "code": '''
def augment_transform(max_rotation=15.0, noise_std=0.1):
    return transforms.Compose([
        transforms.ToTensor(), transforms.Normalize((MNIST_MEAN,), (MNIST_STD,)),
        transforms.RandomRotation(max_rotation),
        transforms.Lambda(lambda t: add_gaussian_noise(t, noise_std)),
    ])
'''},
    {"name": "noise added before Normalize", "also_fails": ['test_augment_defaults'],
     "fails": "test_augment_noise_is_added_after_normalising",
     "says": "you add the noise before Normalize", "code": '''
def augment_transform(max_rotation=15.0, noise_std=0.1):
    return transforms.Compose([
        transforms.RandomRotation(max_rotation), transforms.ToTensor(),
        transforms.Lambda(lambda t: add_gaussian_noise(t, noise_std)),
        transforms.Normalize((MNIST_MEAN,), (MNIST_STD,)),
    ])
'''},
    {"name": "augmentation ignores noise_std", "fails": "test_augment_without_rotation_or_noise_is_plain_normalisation",
     "says": "with noise_std=0 it must add no noise", "code": '''
def augment_transform(max_rotation=15.0, noise_std=0.1):
    return transforms.Compose([
        transforms.RandomRotation(max_rotation), transforms.ToTensor(),
        transforms.Normalize((MNIST_MEAN,), (MNIST_STD,)),
        transforms.Lambda(lambda t: add_gaussian_noise(t, 0.1)),
    ])
'''},
    {"name": "sweep results out of order (reversed)", "fails": "test_run_sweep_calls_each_value_once_in_order",
     "says": "go through the values in the order given", "code": '''
def run_sweep(values, train_and_evaluate):
    return [{"value": v, "accuracy": train_and_evaluate(v)} for v in reversed(list(values))]
'''},
    {"name": "sweep results sorted by accuracy", "fails": "test_run_sweep_calls_each_value_once_in_order",
     "says": "do not sort", "code": '''
def run_sweep(values, train_and_evaluate):
    results = [{"value": v, "accuracy": train_and_evaluate(v)} for v in values]
    return sorted(results, key=lambda r: r["accuracy"], reverse=True)
'''},
    {"name": "sweep trains every value twice", "fails": "test_run_sweep_calls_each_value_once_in_order",
     "says": "exactly once per value", "code": '''
def run_sweep(values, train_and_evaluate):
    values = list(values)
    best = max(values, key=train_and_evaluate)  # trains everything once more
    return [{"value": v, "accuracy": train_and_evaluate(v)} for v in values]
'''},
    {"name": "sweep plot without the x label", "fails": "test_plot_sweep_shows_accuracy_against_value",
     "says": "set_xlabel", "code": '''
def plot_sweep(results, path, xlabel):
    fig, ax = plt.subplots()
    ax.plot([r["value"] for r in results], [r["accuracy"] for r in results], marker="o")
    ax.set_ylabel("accuracy (%)")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
'''},
    {"name": "sweep plot with the axes swapped", "fails": "test_plot_sweep_shows_accuracy_against_value",
     "says": "accuracies on the x axis", "code": '''
def plot_sweep(results, path, xlabel):
    fig, ax = plt.subplots()
    ax.plot([r["accuracy"] for r in results], [r["value"] for r in results], marker="o")
    ax.set_xlabel(xlabel)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
'''},
    {"name": "sweep plot without creating the folder", "fails": "test_plot_sweep_writes_png",
     "says": "create the missing folders", "code": '''
def plot_sweep(results, path, xlabel):
    fig, ax = plt.subplots()
    ax.plot([r["value"] for r in results], [r["accuracy"] for r in results], marker="o")
    ax.set_xlabel(xlabel)
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
'''},
    {"name": "sweep plot folder created with exist_ok=False fails once it exists", "fails": "test_plot_sweep_writes_png",
     "says": "raised FileExistsError when its folder already exists",
     "also_fails": ["test_plot_sweep_shows_accuracy_against_value"], "code": '''
def plot_sweep(results, path, xlabel):
    path = Path(path)
    fig, ax = plt.subplots()
    ax.plot([r["value"] for r in results], [r["accuracy"] for r in results], marker="o")
    ax.set_xlabel(xlabel)
    path.parent.mkdir(parents=True, exist_ok=False)
    fig.savefig(path)
    plt.close(fig)
    return path
'''},
    {"name": "sweep plot testing min(values) >= 0 before dividing by it", "fails": "test_plot_sweep_shows_accuracy_against_value",
     "says": "crashed on values that include 0", "code": '''
def plot_sweep(results, path, xlabel):
    path = Path(path)
    values = [r["value"] for r in results]
    fig, ax = plt.subplots()
    ax.plot(values, [r["accuracy"] for r in results], marker="o")
    if min(values) >= 0 and max(values) / min(values) >= 100:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
'''},
    {"name": "noise drawn in float32 whatever x's dtype (dtype left out)", "fails": "test_noise_keeps_shape_dtype_device_and_input",
     "says": "tensor into torch.float32: draw the noise with dtype=x.dtype", "code": '''
def add_gaussian_noise(x, std=0.1, generator=None):
    return x + std * torch.randn(x.shape, generator=generator, device=x.device)
'''},
    {"name": "sweep dropping the last value (range(len(values) - 1))", "fails": "test_run_sweep_calls_each_value_once_in_order",
     "says": "never called train_and_evaluate with the value(s)", "code": '''
def run_sweep(values, train_and_evaluate):
    values = list(values)
    return [{"value": values[i], "accuracy": train_and_evaluate(values[i])} for i in range(len(values) - 1)]
'''},
    {"name": "sweep storing the best accuracy so far instead of each value's", "fails": "test_run_sweep_calls_each_value_once_in_order",
     "says": "store exactly what it returned for that value", "code": '''
def run_sweep(values, train_and_evaluate):
    results, best = [], float("-inf")
    for v in values:
        best = max(best, train_and_evaluate(v))
        results.append({"value": v, "accuracy": best})
    return results
'''},
    {"name": "sweep indexing values by position (values[i] for i in range(len(values)))",
     "fails": "test_run_sweep_calls_each_value_once_in_order", "says": "values given as a generator", "code": '''
def run_sweep(values, train_and_evaluate):
    return [{"value": values[i], "accuracy": train_and_evaluate(values[i])} for i in range(len(values))]
'''},
    {"name": "sweep looping over values twice (accuracies first, then zip)",
     "fails": "test_run_sweep_calls_each_value_once_in_order", "says": "looped over only once", "code": '''
def run_sweep(values, train_and_evaluate):
    accuracies = [train_and_evaluate(v) for v in values]
    return [{"value": v, "accuracy": a} for v, a in zip(values, accuracies)]
'''},
    {"name": "sweep plot: plt.close() before plt.savefig", "fails": "test_plot_sweep_shows_accuracy_against_value",
     "also_fails": ["test_plot_sweep_writes_png"], "says": "saved an empty figure", "code": '''
def plot_sweep(results, path, xlabel):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    plt.figure()
    plt.plot([r["value"] for r in results], [r["accuracy"] for r in results], "o-")
    plt.xlabel(xlabel)
    plt.close()
    plt.savefig(path)
    return Path(path)
'''},
    {"name": "augmentation with the Fashion-MNIST normalisation constants",
     "fails": "test_augment_without_rotation_or_noise_is_plain_normalisation",
     "says": "mean 0.2860 and std 0.3530", "code": '''
def augment_transform(max_rotation=15.0, noise_std=0.1):
    return transforms.Compose([
        transforms.RandomRotation(max_rotation), transforms.ToTensor(), transforms.Normalize((0.2860,), (0.3530,)),
        transforms.Lambda(lambda t: add_gaussian_noise(t, noise_std)),
    ])
'''},
    {"name": "noise returned without x", "fails": "test_noise_has_mean_zero_and_the_requested_std",
     "also_fails": ["test_augment_without_rotation_or_noise_is_plain_normalisation"], "says": "the result ignores x", "also": ["its result ignores the image"],
     "code": '''
def add_gaussian_noise(x, std=0.1, generator=None):
    return std * torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
'''},
    {"name": "transform's noise step returns the noise alone", "fails": "test_augment_without_rotation_or_noise_is_plain_normalisation",
     "says": "its result ignores the image", "code": '''
def augment_transform(max_rotation=15.0, noise_std=0.1):
    return transforms.Compose([
        transforms.RandomRotation(max_rotation),
        transforms.ToTensor(),
        transforms.Normalize((MNIST_MEAN,), (MNIST_STD,)),
        transforms.Lambda(lambda t: noise_std * torch.randn_like(t)),
    ])
'''},
    {"name": "add_gaussian_noise default std 0.01", "fails": "test_defaults_match_the_contract",
     "says": "default is std=0.01", "code": '''
def add_gaussian_noise(x, std=0.01, generator=None):
    return x + std * torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
'''},
    {"name": "augment_transform default max_rotation 30", "fails": "test_augment_defaults",
     "also_fails": ["test_defaults_match_the_contract"], "says": "the default max_rotation is not 15.0", "code": '''
_augment_transform = augment_transform

def augment_transform(max_rotation=30.0, noise_std=0.1):
    return _augment_transform(max_rotation, noise_std)
'''},
    {"name": "augment_transform default noise_std 0.05", "fails": "test_augment_defaults",
     "also_fails": ["test_defaults_match_the_contract"], "says": "the default noise_std is not 0.1", "code": '''
_augment_transform = augment_transform

def augment_transform(max_rotation=15.0, noise_std=0.05):
    return _augment_transform(max_rotation, noise_std)
'''},
    {"name": "plot_sweep saves before plotting", "fails": "test_plot_sweep_shows_accuracy_against_value",
     "says": "while its axes were still empty", "code": '''
def plot_sweep(results, path, xlabel):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    fig.savefig(path)
    ax.plot([r["value"] for r in results], [r["accuracy"] for r in results], marker="o")
    ax.set_xlabel(xlabel)
    plt.close(fig)
    return path
'''},
]

CORRECT = [
    {"name": "defaults spelled 1e-1 and an int 15, with annotations", "tests": ["test_defaults_match_the_contract",
     "test_augment_defaults"], "code": '''
_add_gaussian_noise, _augment_transform = add_gaussian_noise, augment_transform

def add_gaussian_noise(x: torch.Tensor, std: float = 1e-1, generator: torch.Generator | None = None) -> torch.Tensor:
    return _add_gaussian_noise(x, std, generator)

def augment_transform(max_rotation: float = 15, noise_std: float = 1e-1):
    return _augment_transform(max_rotation, noise_std)
'''},
    {"name": "plot_sweep saving a draft first, then the finished figure", "tests": ["test_plot_sweep_writes_png",
     "test_plot_sweep_shows_accuracy_against_value"], "code": '''
def plot_sweep(results, path, xlabel):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots()
    fig.savefig(path)
    ax.plot([r["value"] for r in results], [r["accuracy"] for r in results], "o-")
    ax.set_xlabel(xlabel)
    fig.savefig(path)
    plt.close(fig)
    return path
'''},
    {"name": "noise scaled by a 0-dim tensor, drawn with device=str(x.device)", "tests": NOISE, "code": '''
def add_gaussian_noise(x, std=0.1, generator=None):
    scale = torch.tensor(std, dtype=x.dtype)
    return x + scale * torch.randn(x.shape, generator=generator, dtype=x.dtype, device=str(x.device))
'''},
    {"name": "noise drawn on the host with the generator, then moved to x's device", "tests": NOISE, "code": '''
def add_gaussian_noise(x, std=0.1, generator=None):
    noise = torch.randn(tuple(x.shape), generator=generator, dtype=x.dtype).to(x.device)
    return x + std * noise
'''},
    {"name": "noise via randn_like, generator via torch.randn", "tests": NOISE, "code": '''
def add_gaussian_noise(x, std=0.1, generator=None):
    if generator is None:
        noise = torch.randn_like(x)
    else:
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    return x + noise * std
'''},
    {"name": "noise via torch.normal", "tests": NOISE, "code": '''
def add_gaussian_noise(x, std=0.1, generator=None):
    return x + torch.normal(0.0, float(std), size=tuple(x.shape), generator=generator,
                            dtype=x.dtype, device=x.device)
'''},
    {"name": "noise as a callable class in Compose", "tests": AUGMENT, "code": '''
class _Noise:
    def __init__(self, std):
        self.std = std

    def __call__(self, tensor):
        return tensor + self.std * torch.randn_like(tensor)


def augment_transform(max_rotation=15.0, noise_std=0.1):
    return transforms.Compose([
        transforms.RandomRotation(max_rotation), transforms.ToTensor(),
        transforms.Normalize((MNIST_MEAN,), (MNIST_STD,)), _Noise(noise_std),
    ])
'''},
    {"name": "own rotation step with Python's random and bilinear interpolation", "tests": AUGMENT, "code": '''
import random as _random

from torchvision.transforms import InterpolationMode as _Mode
from torchvision.transforms import functional as _F


def augment_transform(max_rotation=15.0, noise_std=0.1):
    def rotate(image):
        angle = _random.uniform(-max_rotation, max_rotation)
        return _F.rotate(image, angle, interpolation=_Mode.BILINEAR)

    def transform(image):
        x = _F.normalize(_F.to_tensor(rotate(image)), [MNIST_MEAN], [MNIST_STD])
        return add_gaussian_noise(x, noise_std)

    return transform
'''},
    {"name": "rotation of the [0, 1] tensor, RandomAffine", "tests": AUGMENT, "code": '''
def augment_transform(max_rotation=15.0, noise_std=0.1):
    return transforms.Compose([
        transforms.ToTensor(), transforms.RandomAffine(degrees=max_rotation),
        transforms.Normalize((MNIST_MEAN,), (MNIST_STD,)),
        transforms.Lambda(lambda t: add_gaussian_noise(t, std=noise_std)),
    ])
'''},
    {"name": "torchvision transforms v2", "tests": AUGMENT, "code": '''
from torchvision.transforms import v2 as _v2


def augment_transform(max_rotation=15.0, noise_std=0.1):
    return _v2.Compose([
        _v2.RandomRotation(max_rotation), _v2.ToImage(), _v2.ToDtype(torch.float32, scale=True),
        _v2.Normalize([MNIST_MEAN], [MNIST_STD]), _v2.Lambda(lambda t: add_gaussian_noise(t, noise_std)),
    ])
'''},
    {"name": "loop sweep, categorical bar plot via pyplot", "tests": SWEEP, "code": '''
def run_sweep(values, train_and_evaluate):
    results = []
    for value in values:
        accuracy = train_and_evaluate(value)
        results.append({"value": value, "accuracy": accuracy})
    return results


def plot_sweep(results, path, xlabel):
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    plt.figure(figsize=(5, 4))
    plt.bar([str(r["value"]) for r in results], [r["accuracy"] for r in results])
    plt.xlabel(xlabel)
    plt.ylabel("accuracy")
    plt.savefig(path)
    plt.close()
    return Path(path)
'''},
    {"name": "sweep plot at positions 0..n-1 with the values as tick labels", "tests": SWEEP, "code": '''
def plot_sweep(results, path, xlabel):
    fig, ax = plt.subplots()
    ax.plot(range(len(results)), [r["accuracy"] for r in results], "o-")
    ax.set_xticks(range(len(results)), [str(r["value"]) for r in results])
    ax.set_xlabel(xlabel)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(str(path))
    plt.close(fig)
    return Path(path)
'''},
    {"name": "sweep plot as a sorted semilogx scatter", "tests": SWEEP, "code": '''
def plot_sweep(results, path, xlabel):
    pairs = sorted((r["value"], r["accuracy"]) for r in results)
    fig, ax = plt.subplots()
    ax.scatter([p[0] for p in pairs], [p[1] for p in pairs])
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_title("sweep")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    return Path(path)
'''},
    {"name": "sweep with enumerate over a list copy, then values[i]", "tests": SWEEP, "code": '''
def run_sweep(values, train_and_evaluate):
    values = list(values)
    results = [None] * len(values)
    for i, _ in enumerate(values):
        results[i] = {"value": values[i], "accuracy": train_and_evaluate(values[i])}
    return results
'''},
    {"name": "sweep plot: plt.close(fig) before fig.savefig (the figure keeps its drawing)", "tests": SWEEP, "code": '''
def plot_sweep(results, path, xlabel):
    fig, ax = plt.subplots()
    ax.plot([r["value"] for r in results], [r["accuracy"] for r in results], "o-")
    ax.set_xlabel(xlabel)
    plt.close(fig)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    return Path(path)
'''},
]
