"""Mistakes and correct styles for 01_activations."""

MUTANTS = [
    {"name": "naive sigmoid overflows for -1000", "fails": "test_sigmoid_is_stable", "says": "overflow", "code": '''
def sigmoid(x):
    return 1 / (1 + np.exp(-x))
'''},
    {"name": "relu modifies its input", "fails": "test_functions_are_pure_and_keep_shape", "says": "modified its input", "code": '''
def relu(x):
    x[x < 0] = 0
    return x
'''},
    {"name": "leaky relu", "fails": "test_relu_values", "says": "leaky", "code": '''
def relu(x):
    return np.where(x > 0, x, 0.01 * x)
'''},
    {"name": "sigmoid_grad missing the (1 - s) factor", "fails": "test_sigmoid_grad", "says": "sigma(x) * (1 - sigma(x))", "code": '''
def sigmoid_grad(x):
    return sigmoid(x)
'''},
    {"name": "tanh_grad missing the square", "fails": "test_tanh_grad", "says": "1 - tanh(x)^2", "code": '''
def tanh_grad(x):
    return 1 - tanh(x)
'''},
    {"name": "naive tanh gives NaN for large x", "fails": "test_tanh_values_and_stability", "says": "overflow", "code": '''
def tanh(x):
    return (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))
'''},
    {"name": "relu_grad is 1 at zero", "fails": "test_relu_grad", "says": "1 where x > 0", "code": '''
def relu_grad(x):
    return (x >= 0).astype(float)
'''},
    {"name": "plot with only two panels", "fails": "test_plot_activations", "says": "three panels", "code": '''
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
]

CORRECT = [
    {"name": "sigmoid with np.clip (a range safe for float32 too)", "tests": ["test_sigmoid_values", "test_sigmoid_is_stable"], "code": '''
def sigmoid(x):
    return 1 / (1 + np.exp(-np.clip(x, -60, 60)))
'''},
    {"name": "sigmoid via log-sum-exp", "tests": ["test_sigmoid_values", "test_sigmoid_is_stable", "test_sigmoid_grad"], "code": '''
def sigmoid(x):
    return np.exp(-np.logaddexp(0, -x))
'''},
    {"name": "tanh via sigmoid, relu via np.where, grads via np.where", "code": '''
def relu(x):
    return np.where(x > 0, x, 0.0)

def tanh(x):
    return 2 * sigmoid(2 * x) - 1

def relu_grad(x):
    return np.where(x > 0, 1.0, 0.0)
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
]
