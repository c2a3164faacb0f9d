"""Mistakes and correct styles for 01_activations."""

# No test of this exercise is slow: every mutant runs every test.
SLOW: list[str] = []

MUTANTS = [
    {"name": "naive sigmoid overflows for -1000", "fails": "test_sigmoid_is_stable", "says": "above ~709 is inf",
     "also": ["inherits the fault of your sigmoid"], "also_fails": ["test_sigmoid_grad"], "code": '''
def sigmoid(x):
    return 1 / (1 + np.exp(-x))
'''},
    {"name": "sigmoid_grad built on a naive sigmoid is not blamed for sigmoid's overflow", "fails": "test_sigmoid_grad",
     "says": "inherits the fault of your sigmoid", "also": ["above ~709 is inf"], "also_fails": ["test_sigmoid_is_stable"], "code": '''
def sigmoid(x):
    return 1 / (1 + np.exp(-x))
'''},
    {"name": "sigmoid clipped to +-500 still overflows in float32", "fails": "test_sigmoid_is_stable",
     "says": "silent in float64 but overflows in float32", "code": '''
def sigmoid(x):
    return 1 / (1 + np.exp(-np.clip(x, -500, 500)))
'''},
    {"name": "sigmoid split on the sign with np.where, both branches overflow", "fails": "test_sigmoid_is_stable",
     "says": "evaluates both branches", "also": ["inherits the fault of your sigmoid"], "also_fails": ["test_sigmoid_grad"], "code": '''
def sigmoid(x):
    return np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))
'''},
    {"name": "relu modifies its input", "fails": "test_functions_are_pure_and_keep_shape", "says": "modified its input", "also_fails": ["test_plot_activations"], "code": '''
def relu(x):
    x[x < 0] = 0
    return x
'''},
    {"name": "relu with np.maximum writing into its input (out=x)", "fails": "test_functions_are_pure_and_keep_shape",
     "says": "modified its input", "also_fails": ["test_plot_activations"], "code": '''
def relu(x):
    return np.maximum(x, 0, out=x)
'''},
    {"name": "leaky relu", "fails": "test_relu_values", "says": "leaky",
     "also": ["relu of negative inputs must be 0"], "code": '''
def relu(x):
    return np.where(x > 0, x, 0.01 * x)
'''},
    {"name": "relu as the absolute value is not called leaky", "fails": "test_relu_values",
     "says": "relu of negative inputs must be 0", "code": '''
def relu(x):
    return np.abs(x)
'''},
    {"name": "sigmoid_grad missing the (1 - s) factor", "fails": "test_sigmoid_grad", "says": "sigma(x) * (1 - sigma(x))", "code": '''
def sigmoid_grad(x):
    return sigmoid(x)
'''},
    {"name": "sigmoid_grad with x in place of sigmoid(x)", "fails": "test_sigmoid_grad", "says": "sigma(x) * (1 - sigma(x))", "code": '''
def sigmoid_grad(x):
    return sigmoid(x) * (1 - x)
'''},
    {"name": "sigmoid_grad with its own naive exp", "fails": "test_sigmoid_grad", "says": "although your sigmoid is stable",
     "code": '''
def sigmoid_grad(x):
    return np.exp(-x) / (1 + np.exp(-x)) ** 2
'''},
    {"name": "tanh_grad missing the square", "fails": "test_tanh_grad", "says": "1 - tanh(x)^2", "code": '''
def tanh_grad(x):
    return 1 - tanh(x)
'''},
    {"name": "naive tanh gives NaN for large x", "fails": "test_tanh_values_and_stability", "says": "e^x or e^-x is inf", "also_fails": ["test_tanh_grad"], "code": '''
def tanh(x):
    return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))
'''},
    {"name": "tanh via a naive sigmoid inherits its overflow", "fails": "test_tanh_values_and_stability",
     "says": "tanh calls your sigmoid and inherits its fault", "also": ["above ~709 is inf", "inherits the fault of your sigmoid"],
     "also_fails": ["test_sigmoid_is_stable", "test_sigmoid_grad", "test_tanh_grad"], "code": '''
def sigmoid(x):
    return 1 / (1 + np.exp(-x))

def tanh(x):
    return 2 * sigmoid(2 * x) - 1
'''},
    {"name": "tanh as 2 sigmoid(2x) without the -1; tanh_grad is not blamed", "fails": "test_tanh_grad",
     "says": "inherits the fault of your tanh: tanh itself gives wrong values", "also_fails": ["test_tanh_values_and_stability"], "code": '''
def tanh(x):
    return 2 * sigmoid(2 * x)
'''},
    {"name": "sigmoid branches swapped gives sigmoid(-x)", "fails": "test_sigmoid_values", "says": "that is sigmoid(-x)", "also_fails": ["test_sigmoid_is_stable"], "code": '''
def sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, e / (1 + e), 1 / (1 + e))
'''},
    {"name": "sigmoid computed in float32 for float64 input", "fails": "test_functions_are_pure_and_keep_shape",
     "says": "turned float64 input into float32", "code": '''
def sigmoid(x):
    x = np.asarray(x, dtype=np.float32)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))
'''},
    {"name": "relu_grad is 1 at zero", "fails": "test_relu_grad", "says": "use x > 0, not x >= 0", "code": '''
def relu_grad(x):
    return (x >= 0).astype(float)
'''},
    {"name": "relu_grad returns booleans", "fails": "test_functions_are_pure_and_keep_shape",
     "says": "must return floats, got dtype bool", "code": '''
def relu_grad(x):
    return x > 0
'''},
    {"name": "plot with only two panels", "fails": "test_plot_activations", "says": "draw three panels, one per function", "code": '''
def plot_activations(path):
    import matplotlib.pyplot as plt
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.linspace(-5, 5, 100)
    fig, axes = plt.subplots(1, 2)
    axes[0].plot(x, relu(x))
    axes[1].plot(x, sigmoid(x))
    fig.savefig(path)
    return path
'''},
    {"name": "plot without creating the parent folders", "fails": "test_plot_activations",
     "says": "create the parent folders", "code": '''
def plot_activations(path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    x = np.linspace(-5, 5, 100)
    fig, axes = plt.subplots(1, 3)
    for ax, f in zip(axes, (relu, sigmoid, tanh)):
        ax.plot(x, f(x))
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
'''},
    {"name": "plot over positive x only", "fails": "test_plot_activations", "says": "covers x from 0 to 5", "code": '''
def plot_activations(path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.linspace(0, 5, 100)
    fig, axes = plt.subplots(1, 3)
    for ax, f in zip(axes, (relu, sigmoid, tanh)):
        ax.plot(x, f(x))
    fig.savefig(path)
    plt.close(fig)
    return path
'''},
    {"name": "plot creating its folder with exist_ok=False fails once the folder exists", "fails": "test_plot_activations",
     "says": "raised FileExistsError when its folder already exists", "code": '''
def plot_activations(path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=False)
    x = np.linspace(-5, 5, 201)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    for ax, f in zip(axes, (relu, sigmoid, tanh)):
        ax.plot(x, f(x))
    fig.savefig(path)
    plt.close(fig)
    return path
'''},
    {"name": "plot with os.makedirs and no exist_ok fails once the folder exists", "fails": "test_plot_activations",
     "says": "raised FileExistsError when its folder already exists", "code": '''
def plot_activations(path):
    import os
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(os.path.dirname(path))
    x = np.linspace(-5, 5, 201)
    fig, axes = plt.subplots(1, 3)
    for ax, f in zip(axes, (relu, sigmoid, tanh)):
        ax.plot(x, f(x))
    fig.savefig(path)
    plt.close(fig)
    return Path(path)
'''},
    {"name": "plot with a fourth, empty panel (plt.subplots(1, 4))", "fails": "test_plot_activations",
     "says": "has 4 panels (1 of them without a curve)", "code": '''
def plot_activations(path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.linspace(-5, 5, 201)
    fig, axes = plt.subplots(1, 4, figsize=(12, 4))
    for ax, f in zip(axes, (relu, sigmoid, tanh)):
        ax.plot(x, f(x))
    fig.savefig(path)
    plt.close(fig)
    return path
'''},
    {"name": "plot that returns nothing", "fails": "test_plot_activations", "says": "must return the path it wrote", "code": '''
_reference_plot = plot_activations
def plot_activations(path):
    _reference_plot(path)
'''},
    {"name": "naive sigmoid with the overflow silenced by np.errstate", "fails": "test_sigmoid_is_stable",
     "says": "hidden rather than avoided", "also_fails": ["test_sigmoid_grad"],
     "also": ["above ~709 is inf", "inherits the fault of your sigmoid"], "code": '''
def sigmoid(x):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))
'''},
    {"name": "naive sigmoid silenced by an errstate decorator and warnings filter, exp imported by name",
     "fails": "test_sigmoid_is_stable", "says": "hidden rather than avoided", "also_fails": ["test_sigmoid_grad"],
     "also": ["above ~709 is inf", "inherits the fault of your sigmoid"], "code": '''
import warnings
from numpy import exp

@np.errstate(all="ignore")
def sigmoid(x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return 1 / (1 + exp(-x))
'''},
    {"name": "naive tanh with the overflow silenced by np.errstate", "fails": "test_tanh_values_and_stability",
     "says": "hidden rather than avoided", "also_fails": ["test_tanh_grad"],
     "also": ["e^x or e^-x is inf", "inherits the fault of your tanh"], "code": '''
def tanh(x):
    with np.errstate(all="ignore"):
        return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))
'''},
    {"name": "tanh clipped to +-300 still overflows in float32", "fails": "test_tanh_values_and_stability",
     "says": "silent in float64 but overflows in float32", "code": '''
def tanh(x):
    e = np.exp(2 * np.clip(x, -300, 300))
    return (e - 1) / (e + 1)
'''},
    {"name": "plot with only 5 points per curve draws a jagged tanh", "fails": "test_plot_activations",
     "says": "use more points", "code": '''
def plot_activations(path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.linspace(-5, 5, 5)
    fig, axes = plt.subplots(1, 3)
    for ax, f in zip(axes, (relu, sigmoid, tanh)):
        ax.plot(x, f(x))
    fig.savefig(path)
    plt.close(fig)
    return path
'''},
    {"name": "plot over x in [-10, 10]", "fails": "test_plot_activations", "says": "is shown from x = -10 to 10", "code": '''
def plot_activations(path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.linspace(-10, 10, 201)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    for ax, f in zip(axes, (relu, sigmoid, tanh)):
        ax.plot(x, f(x))
    fig.savefig(path)
    plt.close(fig)
    return path
'''},
    {"name": "plot saved to a fixed file name in the working folder", "fails": "test_plot_activations",
     "says": "which is not the path it was given", "code": '''
def plot_activations(path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.linspace(-5, 5, 201)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    for ax, f in zip(axes, (relu, sigmoid, tanh)):
        ax.plot(x, f(x))
    fig.savefig("activations.png")
    plt.close(fig)
    return path
'''},
    {"name": "plot saved next to the path under another name", "fails": "test_plot_activations",
     "says": "so no file exists there", "code": '''
def plot_activations(path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.linspace(-5, 5, 201)
    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    for ax, f in zip(axes, (relu, sigmoid, tanh)):
        ax.plot(x, f(x))
    fig.savefig(path.with_name("figure.png"))
    plt.close(fig)
    return path
'''},
]

CORRECT = [
    {"name": "plot on a 2x2 grid with the spare panel hidden, folder made only when missing", "tests": ["test_plot_activations"], "code": '''
def plot_activations(path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    path = Path(path)
    if not path.parent.exists():
        path.parent.mkdir(parents=True)
    x = np.linspace(-5, 5, 201)
    fig, axes = plt.subplots(2, 2)
    for ax, f in zip(axes.flat, (relu, sigmoid, tanh)):
        ax.plot(x, f(x))
    axes[1, 1].axis("off")
    fig.savefig(path)
    plt.close(fig)
    return path
'''},
    {"name": "plot over [-10, 10] limited to [-5, 5] with set_xlim, saved through a file object", "tests": ["test_plot_activations"], "code": '''
def plot_activations(path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.linspace(-10, 10, 401)
    fig, axes = plt.subplots(3, 1)
    for ax, f in zip(axes, (relu, sigmoid, tanh)):
        ax.plot(x, f(x))
        ax.set_xlim(-5, 5)
    with open(path, "wb") as handle:
        fig.savefig(handle, format="png")
    plt.close(fig)
    return path
'''},
    {"name": "sigmoid with np.clip (a range safe for float32 too)", "tests": ["test_sigmoid_values", "test_sigmoid_is_stable"], "code": '''
def sigmoid(x):
    return 1 / (1 + np.exp(-np.clip(x, -60, 60)))
'''},
    {"name": "sigmoid via log-sum-exp", "tests": ["test_sigmoid_values", "test_sigmoid_is_stable", "test_sigmoid_grad"], "code": '''
def sigmoid(x):
    return np.exp(-np.logaddexp(0, -x))
'''},
    {"name": "sigmoid with boolean masks filling a new array", "code": '''
def sigmoid(x):
    x = np.asarray(x)
    out = np.empty_like(x, dtype=np.result_type(x, np.float32))
    pos = x >= 0
    out[pos] = 1 / (1 + np.exp(-x[pos]))
    e = np.exp(x[~pos])
    out[~pos] = e / (1 + e)
    return out
'''},
    {"name": "sigmoid via tanh", "code": '''
def sigmoid(x):
    return 0.5 * (1 + np.tanh(0.5 * np.asarray(x)))
'''},
    {"name": "relu in place on its own copy", "code": '''
def relu(x):
    out = np.array(x, dtype=np.result_type(x, np.float32), copy=True)
    out[out < 0] = 0
    return out
'''},
    {"name": "tanh via sigmoid, relu via np.where, grads via np.where", "code": '''
def relu(x):
    return np.where(x > 0, x, 0.0)

def tanh(x):
    return 2 * sigmoid(2 * x) - 1

def relu_grad(x):
    return np.where(x > 0, 1.0, 0.0)
'''},
    {"name": "sigmoid_grad with its own stable formula", "tests": ["test_sigmoid_grad"], "code": '''
def sigmoid_grad(x):
    e = np.exp(-np.abs(x))
    return e / (1 + e) ** 2
'''},
    {"name": "plt-style plotting without returning a figure object", "tests": ["test_plot_activations"], "code": '''
def plot_activations(path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    x = np.linspace(-5, 5, 100)
    plt.figure(figsize=(12, 4))
    for i, (title, f) in enumerate([("ReLU", relu), ("Sigmoid", sigmoid), ("Tanh", tanh)], start=1):
        plt.subplot(1, 3, i)
        plt.plot(x, f(x))
        plt.title(title)
    plt.tight_layout()
    plt.savefig(out)
    plt.close()
    return out
'''},
    {"name": "plot with os.makedirs, vertical panels and np.arange", "tests": ["test_plot_activations"], "code": '''
def plot_activations(path):
    import os
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    os.makedirs(os.path.dirname(str(path)), exist_ok=True)
    x = np.arange(-5, 5.01, 0.05)
    fig, axes = plt.subplots(3, 1)
    axes[0].plot(x, relu(x)); axes[1].plot(x, sigmoid(x)); axes[2].plot(x, tanh(x))
    fig.savefig(str(path))
    plt.close(fig)
    return Path(path)
'''},
    {"name": "plot with 10 points per curve", "tests": ["test_plot_activations"], "code": '''
def plot_activations(path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    x = np.linspace(-5, 5, 10)
    fig, axes = plt.subplots(1, 3)
    for ax, f in zip(axes, (relu, sigmoid, tanh)):
        ax.plot(x, f(x))
    fig.savefig(path)
    plt.close(fig)
    return path
'''},
    {"name": "plot of ReLU through its 3 corner points, integer grid for the others", "tests": ["test_plot_activations"],
     "code": '''
def plot_activations(path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 3)
    axes[0].plot([-5, 0, 5], [0, 0, 5])
    x = np.arange(-5, 6)
    axes[1].plot(x, sigmoid(x))
    axes[2].plot(x, tanh(x))
    axes[2].axhline(0, color="gray")
    fig.savefig(path)
    plt.close(fig)
    return path
'''},
    {"name": "stable sigmoid and tanh that also silence warnings (nothing overflows)", "code": '''
def sigmoid(x):
    x = np.asarray(x)
    with np.errstate(all="ignore"):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e))

def tanh(x):
    with np.errstate(over="ignore"):
        e = np.exp(-2 * np.abs(x))
        return np.sign(x) * (1 - e) / (1 + e)
'''},
    {"name": "sigmoid with exp masked by where= (uncomputed entries are not overflows)",
     "tests": ["test_sigmoid_values", "test_sigmoid_is_stable", "test_sigmoid_grad"], "code": '''
def sigmoid(x):
    x = np.asarray(x, dtype=np.result_type(x, np.float32))
    pos = x >= 0
    e_neg = np.exp(-x, out=np.zeros_like(x), where=pos)
    e_pos = np.exp(x, out=np.zeros_like(x), where=~pos)
    return np.where(pos, 1 / (1 + e_neg), e_pos / (1 + e_pos))
'''},
]
