"""Mistake gallery for 03_backprop: each MUTANT is appended to a copy of the reference module
and must fail the named test with a message containing `says`; each CORRECT style must pass."""

# No test of this exercise is slow: every mutant runs every test.
SLOW: list[str] = []

MUTANTS = [
    {"name": "init_params dividing by the random numbers (0.01 / z) gives a few huge weights", "fails": "test_init_params",
     "says": "has entries as large as", "code": '''
def init_params(n_in, n_hidden, n_out, seed=0):
    rng = np.random.default_rng(seed)
    return {"W1": 0.01 * rng.standard_normal((n_in, n_hidden)), "b1": np.zeros(n_hidden),
            "W2": 0.01 / rng.standard_normal((n_hidden, n_out)), "b2": np.zeros(n_out)}
'''},
    {"name": "backward without the ReLU mask", "fails": ["test_backward_matches_numerical_gradient",
                                                         "test_backward_matches_torch_autograd"],
     "says": "without the relu mask", "code": '''
def backward(params, cache, dscores):
    X, z1, h = cache
    dz1 = dscores @ params["W2"].T
    return {"W1": X.T @ dz1, "b1": dz1.sum(axis=0), "W2": h.T @ dscores, "b2": dscores.sum(axis=0)}
'''},
    {"name": "backward with db2 summed over the wrong axis", "fails": "test_backward_shapes",
     "says": "sum the upstream gradient over the batch", "code": '''
def backward(params, cache, dscores):
    X, z1, h = cache
    dz1 = (dscores @ params["W2"].T) * (z1 > 0)
    return {"W1": X.T @ dz1, "b1": dz1.sum(axis=0), "W2": h.T @ dscores, "b2": dscores.sum(axis=1)}
'''},
    {"name": "backward uses the pre-activation z1 instead of h for dW2",
     "fails": "test_backward_matches_numerical_gradient", "says": "dW2 = h.T @ dscores", "also_fails": ["test_backward_matches_torch_autograd"], "code": '''
def backward(params, cache, dscores):
    X, z1, h = cache
    dz1 = (dscores @ params["W2"].T) * (z1 > 0)
    return {"W1": X.T @ dz1, "b1": dz1.sum(axis=0), "W2": z1.T @ dscores, "b2": dscores.sum(axis=0)}
'''},
    {"name": "dscores not divided by N", "fails": "test_softmax_cross_entropy_gradient",
     "says": "times too large", "code": '''
def softmax_cross_entropy(scores, y):
    n = scores.shape[0]
    p = np.exp(scores - scores.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(n), y]).mean()
    d = p.copy()
    d[np.arange(n), y] -= 1.0
    return float(loss), d
'''},
    {"name": "softmax without the max shift overflows", "fails": "test_softmax_cross_entropy_is_stable",
     "says": "overflow", "code": '''
def softmax_cross_entropy(scores, y):
    n = scores.shape[0]
    p = np.exp(scores)
    p = p / p.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(n), y]).mean()
    p[np.arange(n), y] -= 1.0
    return float(loss), p / n
'''},
    {"name": "softmax shifted by the global max, not each row's", "fails": "test_softmax_cross_entropy_is_stable",
     "says": "shifting by one max for the whole array", "code": '''
def softmax_cross_entropy(scores, y):
    n = scores.shape[0]
    p = np.exp(scores - scores.max())
    p = p / p.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(n), y]).mean()
    p[np.arange(n), y] -= 1.0
    return float(loss), p / n
'''},
    {"name": "softmax shift done in place on the caller's scores", "fails": "test_softmax_cross_entropy_loss",
     "says": "changed the scores array", "code": '''
def softmax_cross_entropy(scores, y):
    n = scores.shape[0]
    scores -= scores.max(axis=1, keepdims=True)
    p = np.exp(scores)
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(n), y]).mean()
    p[np.arange(n), y] -= 1.0
    return float(loss), p / n
'''},
    {"name": "loss summed over the batch instead of averaged", "fails": "test_softmax_cross_entropy_loss",
     "says": "N times too large", "code": '''
_reference_sce = softmax_cross_entropy
def softmax_cross_entropy(scores, y):
    loss, d = _reference_sce(scores, y)
    return loss * scores.shape[0], d
'''},
    {"name": "one-sided differences", "fails": "test_numerical_gradient_values",
     "says": "one-sided difference", "code": '''
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    fx = f(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        grad[i] = (f(x) - fx) / h
        x[i] = old
    return grad
'''},
    {"name": "numerical_gradient divides by h instead of 2h", "fails": "test_numerical_gradient_values",
     "says": "twice too large", "code": '''
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        x[i] = old
        grad[i] = (fp - fm) / h
    return grad
'''},
    {"name": "numerical_gradient leaves x changed", "fails": "test_numerical_gradient_restores_x",
     "says": "left x changed", "also_fails": ["test_numerical_gradient_values"], "code": '''
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        x[i] += h
        fp = f(x)
        x[i] -= 2 * h
        fm = f(x)
        grad[i] = (fp - fm) / (2 * h)
    return grad
'''},
    {"name": "numerical_gradient restores x by adding h back (rounding residue)",
     "fails": "test_numerical_gradient_restores_x", "says": "rounding-size change", "code": '''
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        x[i] += h
        fp = f(x)
        x[i] -= 2 * h
        fm = f(x)
        x[i] += h
        grad[i] = (fp - fm) / (2 * h)
    return grad
'''},
    {"name": "sgd_update modifies its input in place", "fails": "test_sgd_update_does_not_modify_input",
     "says": "modified its input", "code": '''
def sgd_update(param, grad, lr):
    param -= lr * grad
    return param
'''},
    {"name": "relative_error without the 1e-8 floor", "fails": "test_relative_error_of_zeros",
     "says": "1e-8 floor", "code": '''
def relative_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / (np.abs(a) + np.abs(b))))
'''},
    {"name": "relative_error sums instead of taking the max", "fails": "test_relative_error_values",
     "says": "not a sum", "code": '''
def relative_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.sum(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))
'''},
    {"name": "autograd_example returns tensors", "fails": "test_autograd_example_returns_floats",
     "says": ".item()", "code": '''
def autograd_example(x=1.0, w=2.0, b=1.0, target=5.0):
    xt, wt, bt = (torch.tensor([v], requires_grad=True) for v in (x, w, b))
    y = wt * xt + bt
    loss = (y - target) ** 2
    loss.backward()
    return {"y": y.detach(), "loss": loss.detach(), "x_grad": xt.grad, "w_grad": wt.grad, "b_grad": bt.grad}
'''},
    {"name": "autograd_example with the target hard-coded to 5", "fails": "test_autograd_example_other_inputs",
     "says": "not fixed numbers", "code": '''
_reference_autograd = autograd_example
def autograd_example(x=1.0, w=2.0, b=1.0, target=5.0):
    return _reference_autograd(x, w, b, 5.0)
'''},
    {"name": "init_params with unscaled standard-normal weights", "fails": "test_init_params",
     "says": "weights should be small", "code": '''
def init_params(n_in, n_hidden, n_out, seed=0):
    rng = np.random.default_rng(seed)
    return {"W1": rng.standard_normal((n_in, n_hidden)), "b1": np.zeros(n_hidden),
            "W2": rng.standard_normal((n_hidden, n_out)), "b2": np.zeros(n_out)}
'''},
    {"name": "init_params with constant weights (no symmetry breaking)", "fails": "test_init_params",
     "says": "symmetry", "also_fails": ["test_init_params_seed"], "code": '''
def init_params(n_in, n_hidden, n_out, seed=0):
    return {"W1": np.full((n_in, n_hidden), 0.01), "b1": np.zeros(n_hidden),
            "W2": np.full((n_hidden, n_out), 0.01), "b2": np.zeros(n_out)}
'''},
    {"name": "init_params ignores the seed", "fails": "test_init_params_seed",
     "says": "draw from a generator seeded with seed", "code": '''
def init_params(n_in, n_hidden, n_out, seed=0):
    return {"W1": 0.01 * np.random.randn(n_in, n_hidden), "b1": np.zeros(n_hidden),
            "W2": 0.01 * np.random.randn(n_hidden, n_out), "b2": np.zeros(n_out)}
'''},
    {"name": "forward without the ReLU", "fails": "test_forward", "says": "without the relu", "code": '''
def forward(params, X):
    z1 = X @ params["W1"] + params["b1"]
    return z1 @ params["W2"] + params["b2"], (X, z1, z1)
'''},
    {"name": 'sgd_update steps uphill (param + lr * grad)', "fails": 'test_sgd_update_values', "says": 'a step uphill', "code": '''
def sgd_update(param, grad, lr):
    return param + lr * grad
'''},
    {"name": 'softmax normalised over the wrong axis', "fails": 'test_softmax_cross_entropy_loss', "says": 'softmax over each column', "also_fails": ["test_softmax_cross_entropy_gradient"], "code": '''
def softmax_cross_entropy(scores, y):
    n = scores.shape[0]
    p = np.exp(scores - scores.max(axis=0, keepdims=True))
    p = p / p.sum(axis=0, keepdims=True)
    loss = -np.log(p[np.arange(n), y]).mean()
    p[np.arange(n), y] -= 1.0
    return float(loss), p / n
'''},
    {"name": 'loss with the wrong sign', "fails": 'test_softmax_cross_entropy_loss', "says": 'minus the mean log-probability', "code": '''
_reference_sce = softmax_cross_entropy
def softmax_cross_entropy(scores, y):
    loss, d = _reference_sce(scores, y)
    return -loss, d
'''},
    {"name": 'dscores without subtracting the one-hot', "fails": 'test_softmax_cross_entropy_gradient', "says": "subtract 1 at each row's correct class", "code": '''
def softmax_cross_entropy(scores, y):
    n = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return float(-log_p[np.arange(n), y].mean()), np.exp(log_p) / n
'''},
    {"name": 'forward with W1 transposed', "fails": 'test_forward', "says": 'with no transposes', "code": '''
def forward(params, X):
    z1 = X @ params["W1"].T + params["b1"]
    h = np.maximum(z1, 0.0)
    return h @ params["W2"] + params["b2"], (X, z1, h)
'''},
    {"name": 'forward with a ReLU on the output scores', "fails": 'test_forward', "says": 'the output layer has no relu', "code": '''
def forward(params, X):
    z1 = X @ params["W1"] + params["b1"]
    h = np.maximum(z1, 0.0)
    return np.maximum(h @ params["W2"] + params["b2"], 0.0), (X, z1, h)
'''},
    {"name": 'forward computing in float32', "fails": 'test_forward', "says": 'scores of dtype float32', "code": '''
def forward(params, X):
    z1 = X.astype(np.float32) @ params["W1"].astype(np.float32) + params["b1"].astype(np.float32)
    h = np.maximum(z1, 0.0)
    return h @ params["W2"].astype(np.float32) + params["b2"].astype(np.float32), (X, z1, h)
'''},
    {"name": 'init_params with biases of shape (1, n)', "fails": 'test_init_params', "says": 'should be an ndarray of shape (40,)', "code": '''
def init_params(n_in, n_hidden, n_out, seed=0):
    rng = np.random.default_rng(seed)
    return {"W1": 0.01 * rng.standard_normal((n_in, n_hidden)), "b1": np.zeros((1, n_hidden)),
            "W2": 0.01 * rng.standard_normal((n_hidden, n_out)), "b2": np.zeros((1, n_out))}
'''},
    {"name": 'numerical_gradient stores its result in float32', "fails": 'test_numerical_gradient_values', "says": 'keeps only ~7 digits', "code": '''
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros(x.shape, dtype=np.float32)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
    return grad
'''},
    {"name": 'relative_error divides by |a + b|', "fails": 'test_relative_error_values', "says": 'not |a + b|', "code": '''
def relative_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a + b))))
'''},
    {"name": 'backward with dW2 transposed', "fails": 'test_backward_shapes', "says": 'check which factor is transposed', "code": '''
def backward(params, cache, dscores):
    X, z1, h = cache
    dz1 = (dscores @ params["W2"].T) * (z1 > 0)
    return {"W1": X.T @ dz1, "b1": dz1.sum(axis=0), "W2": dscores.T @ h, "b2": dscores.sum(axis=0)}
'''},
    {"name": "loss gathered with log_p[:, y] (an (N, N) table)", "fails": "test_softmax_cross_entropy_loss",
     "says": "log_p[:, y] takes column y[j] of every row", "code": '''
def softmax_cross_entropy(scores, y):
    n = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dscores = np.exp(log_p)
    dscores[np.arange(n), y] -= 1.0
    return float(-log_p[:, y].mean()), dscores / n
'''},
    {"name": "dscores with the one-hot subtracted as dscores[:, y]", "fails": "test_softmax_cross_entropy_gradient",
     "says": "dscores[:, y] -= 1 subtracts 1 in every row", "code": '''
def softmax_cross_entropy(scores, y):
    n = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    dscores = np.exp(log_p)
    dscores[:, y] -= 1.0
    return float(-log_p[np.arange(n), y].mean()), dscores / n
'''},
    {"name": "softmax_cross_entropy returning (dscores, loss)", "fails": "test_softmax_cross_entropy_loss",
     "says": "return them in the order (loss, dscores)", "also_fails": ["test_softmax_cross_entropy_gradient"],
     "code": '''
_reference_sce = softmax_cross_entropy
def softmax_cross_entropy(scores, y):
    loss, d = _reference_sce(scores, y)
    return d, loss
'''},
    {"name": "softmax row sums without keepdims", "fails": "test_softmax_cross_entropy_loss",
     "says": "without keepdims=true", "also_fails": ["test_softmax_cross_entropy_gradient"], "code": '''
def softmax_cross_entropy(scores, y):
    n = scores.shape[0]
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1)
    loss = -np.log(p[np.arange(n), y]).mean()
    p[np.arange(n), y] -= 1.0
    return float(loss), p / n
'''},
    {"name": "softmax without the max shift, overflow silenced by np.errstate", "fails": "test_softmax_cross_entropy_is_stable",
     "says": "hidden rather than avoided", "also": ["overflow"], "code": '''
def softmax_cross_entropy(scores, y):
    n = scores.shape[0]
    with np.errstate(all="ignore"):
        p = np.exp(scores)
        p = p / p.sum(axis=1, keepdims=True)
        loss = -np.log(p[np.arange(n), y]).mean()
    p[np.arange(n), y] -= 1.0
    return float(loss), p / n
'''},
    {"name": "forward returning (cache, scores)", "fails": "test_forward", "says": "return them in the order (scores, cache)",
     "code": '''
_reference_forward = forward
def forward(params, X):
    scores, cache = _reference_forward(params, X)
    return cache, scores
'''},
    {"name": "numerical_gradient walking the rows of a 2-D x (tmp = x[i] is a view)",
     "fails": "test_numerical_gradient_values", "says": "each row of the result holds a single number",
     "also_fails": ["test_numerical_gradient_restores_x"], "code": '''
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros_like(x)
    for i in range(len(x)):
        tmp = x[i]
        x[i] = tmp + h
        fxh1 = f(x)
        x[i] = tmp - h
        fxh2 = f(x)
        grad[i] = (fxh1 - fxh2) / (2 * h)
        x[i] = tmp
    return grad
'''},
    {"name": "numerical_gradient visiting only x.shape[0] elements", "fails": "test_numerical_gradient_values",
     "says": "right when the same x is passed flattened", "code": '''
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for k in range(x.shape[0]):
        old = x.flat[k]
        x.flat[k] = old + h
        fp = f(x)
        x.flat[k] = old - h
        fm = f(x)
        x.flat[k] = old
        grad.flat[k] = (fp - fm) / (2 * h)
    return grad
'''},
    {"name": "numerical_gradient that never puts x[i] back", "fails": "test_numerical_gradient_values",
     "says": "left x changed", "also_fails": ["test_numerical_gradient_restores_x"], "code": '''
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        grad[i] = (fp - fm) / (2 * h)
    return grad
'''},
    {"name": "autograd_example: x without requires_grad", "fails": ["test_autograd_example_defaults",
     "test_autograd_example_other_inputs", "test_autograd_example_returns_floats"],
     "says": ".grad is None because x was not created with requires_grad=True", "code": '''
def autograd_example(x=1.0, w=2.0, b=1.0, target=5.0):
    xt = torch.tensor(x)
    wt = torch.tensor(w, requires_grad=True)
    bt = torch.tensor(b, requires_grad=True)
    y = wt * xt + bt
    loss = (y - target) ** 2
    loss.backward()
    return {"y": y.item(), "loss": loss.item(),
            "x_grad": xt.grad.item(), "w_grad": wt.grad.item(), "b_grad": bt.grad.item()}
'''},
    {"name": "autograd_example reads .grad of a float64 copy (not a leaf)", "fails": [
     "test_autograd_example_defaults", "test_autograd_example_other_inputs", "test_autograd_example_returns_floats"],
     "says": "not the tensor you made but one computed from it", "code": '''
def autograd_example(x=1.0, w=2.0, b=1.0, target=5.0):
    xt, wt, bt = (torch.tensor(v, requires_grad=True).double() for v in (x, w, b))
    y = wt * xt + bt
    loss = (y - target) ** 2
    loss.backward()
    return {"y": y.item(), "loss": loss.item(),
            "x_grad": xt.grad.item(), "w_grad": wt.grad.item(), "b_grad": bt.grad.item()}
'''},
    {"name": "autograd_example: x_grad and w_grad swapped", "fails": ["test_autograd_example_defaults",
     "test_autograd_example_other_inputs"], "says": "the value of 'w_grad'",
     "also": ["right values under the wrong keys"], "code": '''
def autograd_example(x=1.0, w=2.0, b=1.0, target=5.0):
    xt, wt, bt = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (x, w, b))
    y = wt * xt + bt
    loss = (y - target) ** 2
    loss.backward()
    return {"y": y.item(), "loss": loss.item(),
            "x_grad": wt.grad.item(), "w_grad": xt.grad.item(), "b_grad": bt.grad.item()}
'''},
    {"name": "autograd_example: y and loss swapped", "fails": ["test_autograd_example_defaults",
     "test_autograd_example_other_inputs"], "says": "is 4, the value of 'loss'", "code": '''
_reference_autograd = autograd_example
def autograd_example(x=1.0, w=2.0, b=1.0, target=5.0):
    out = _reference_autograd(x, w, b, target)
    return dict(out, y=out["loss"], loss=out["y"])
'''},
    {"name": "autograd_example default target=3", "fails": ["test_defaults_are_the_contracts"],
     "also_fails": ["test_autograd_example_defaults"], "says": "autograd_example's default is target=3.0", "code": '''
_reference_autograd = autograd_example
def autograd_example(x=1.0, w=2.0, b=1.0, target=3.0):
    return _reference_autograd(x, w, b, target)
'''},
    {"name": "numerical_gradient default h=1e-3", "fails": ["test_defaults_are_the_contracts"],
     "also_fails": ["test_numerical_gradient_values"], "says": "numerical_gradient's default is h=0.001", "code": '''
_reference_gradient = numerical_gradient
def numerical_gradient(f, x, h=1e-3):
    return _reference_gradient(f, x, h)
'''},
    {"name": "init_params default seed=42", "fails": ["test_defaults_are_the_contracts"],
     "says": "init_params's default is seed=42", "code": '''
_reference_init = init_params
def init_params(n_in, n_hidden, n_out, seed=42):
    return _reference_init(n_in, n_hidden, n_out, seed)
'''},
    {"name": "numerical_gradient: x_plus = x aliases instead of copying", "fails": "test_numerical_gradient_values",
     "says": "name the same array", "code": '''
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros(x.shape, dtype=np.float64)
    for i in np.ndindex(x.shape):
        x_plus = x
        x_plus[i] += h
        f_plus = f(x_plus)
        x_minus = x
        x_minus[i] -= h
        f_minus = f(x_minus)
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad
'''},
    {"name": "relative_error takes the mean, not the max", "fails": "test_relative_error_values",
     "says": "not a sum", "code": '''
def relative_error(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.mean(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))
'''},
]

CORRECT = [
    {"name": "init_params with Glorot-uniform weights", "tests": ["test_init_params", "test_init_params_seed"], "code": '''
def init_params(n_in, n_hidden, n_out, seed=0):
    rng = np.random.default_rng(seed)
    def glorot(a, b):
        limit = np.sqrt(6.0 / (a + b))
        return rng.uniform(-limit, limit, size=(a, b))
    return {"W1": glorot(n_in, n_hidden), "b1": np.zeros(n_hidden), "W2": glorot(n_hidden, n_out), "b2": np.zeros(n_out)}
'''},
    {"name": "defaults spelled as ints and 1e-5 with keyword-only seed, autograd via torch.autograd.grad", "code": '''
_reference_init = init_params
def init_params(n_in: int, n_hidden: int, n_out: int, *, seed: int = 0) -> dict:
    return _reference_init(n_in, n_hidden, n_out, seed)

def autograd_example(x: float = 1, w: float = 2, b: float = 1, target: float = 5) -> dict:
    xt, wt, bt = (torch.tensor(float(v), requires_grad=True) for v in (x, w, b))
    y = wt * xt + bt
    loss = (y - target) ** 2
    gx, gw, gb = torch.autograd.grad(loss, [xt, wt, bt])
    return {"y": y.item(), "loss": loss.item(), "x_grad": gx.item(), "w_grad": gw.item(), "b_grad": gb.item()}
'''},
    {"name": "softmax_cross_entropy via log-sum-exp",
     "tests": ["test_softmax_cross_entropy_loss", "test_softmax_cross_entropy_gradient",
               "test_softmax_cross_entropy_is_stable"], "code": '''
def softmax_cross_entropy(scores, y):
    n = scores.shape[0]
    m = np.max(scores, axis=1, keepdims=True)
    lse = m + np.log(np.sum(np.exp(scores - m), axis=1, keepdims=True))
    loss = np.mean(lse[:, 0] - scores[np.arange(n), y])
    onehot = np.zeros_like(scores)
    onehot[np.arange(n), y] = 1.0
    return loss, (np.exp(scores - lse) - onehot) / n
'''},
    {"name": "numerical_gradient with np.nditer",
     "tests": ["test_numerical_gradient_values", "test_numerical_gradient_restores_x"], "code": '''
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        fp = f(x)
        x[i] = old - h
        fm = f(x)
        x[i] = old
        grad[i] = (fp - fm) / (2 * h)
        it.iternext()
    return grad
'''},
    {"name": "numerical_gradient with flat indexing on copies",
     "tests": ["test_numerical_gradient_values", "test_numerical_gradient_restores_x"], "code": '''
def numerical_gradient(f, x, h=1e-5):
    grad = np.empty(x.size)
    for k in range(x.size):
        xp = x.copy().reshape(-1)
        xm = x.copy().reshape(-1)
        xp[k] += h
        xm[k] -= h
        grad[k] = (f(xp.reshape(x.shape)) - f(xm.reshape(x.shape))) / (2 * h)
    return grad.reshape(x.shape)
'''},
    {"name": "backward with np.where and a dict cache",
     "tests": ["test_forward", "test_backward_shapes", "test_backward_matches_numerical_gradient",
               "test_backward_matches_torch_autograd"], "code": '''
def forward(params, X):
    cache = {"X": X, "a1": X.dot(params["W1"]) + params["b1"]}
    cache["h"] = np.where(cache["a1"] > 0, cache["a1"], 0.0)
    return cache["h"].dot(params["W2"]) + params["b2"], cache

def backward(params, cache, dscores):
    dh = dscores.dot(params["W2"].T)
    da1 = np.where(cache["a1"] > 0, dh, 0.0)
    return {"W2": cache["h"].T.dot(dscores), "b2": np.sum(dscores, axis=0),
            "W1": cache["X"].T.dot(da1), "b1": np.sum(da1, axis=0)}
'''},
    {"name": "init_params with He scaling and the legacy seeded RandomState",
     "tests": ["test_init_params", "test_init_params_seed"], "code": '''
def init_params(n_in, n_hidden, n_out, seed=0):
    rs = np.random.RandomState(seed)
    return {"W1": rs.randn(n_in, n_hidden) * np.sqrt(2.0 / n_in), "b1": np.zeros(n_hidden),
            "W2": rs.randn(n_hidden, n_out) * np.sqrt(2.0 / n_hidden), "b2": np.zeros(n_out)}
'''},
    {"name": "autograd_example in the chapter's float32 one-element style",
     "tests": ["test_autograd_example_defaults", "test_autograd_example_other_inputs",
               "test_autograd_example_returns_floats"], "code": '''
def autograd_example(x=1.0, w=2.0, b=1.0, target=5.0):
    x = torch.tensor([x], requires_grad=True)
    w = torch.tensor([w], requires_grad=True)
    b = torch.tensor([b], requires_grad=True)
    y = w * x + b
    loss = (y - target) ** 2
    loss.backward()
    return {"y": y.item(), "loss": loss.item(), "x_grad": x.grad.item(),
            "w_grad": w.grad.item(), "b_grad": b.grad.item()}
'''},
    {"name": "sgd_update that builds the result without arithmetic on the input object",
     "tests": ["test_sgd_update_values", "test_sgd_update_does_not_modify_input"], "code": '''
def sgd_update(param, grad, lr):
    if isinstance(param, torch.Tensor):
        return torch.sub(param, grad, alpha=lr)
    if isinstance(param, np.ndarray):
        out = param.copy()
        out -= lr * grad
        return out
    return float(param - lr * grad)
'''},
    {"name": "relative_error via an explicit loop over elements",
     "tests": ["test_relative_error_values", "test_relative_error_of_zeros"], "code": '''
def relative_error(a, b):
    worst = 0.0
    for u, v in zip(np.ravel(a), np.ravel(b)):
        worst = max(worst, abs(u - v) / max(1e-8, abs(u) + abs(v)))
    return float(worst)
'''},
    {"name": "sgd_update in place still returns the right numbers (only the input test may fail)",
     "tests": ["test_sgd_update_values"], "code": '''
def sgd_update(param, grad, lr):
    param -= lr * grad
    return param
'''},
    {"name": "backward masking with h > 0 and a tuple cache of its own order",
     "tests": ["test_forward", "test_backward_shapes", "test_backward_matches_numerical_gradient",
               "test_backward_matches_torch_autograd"], "code": '''
def forward(params, X):
    z1 = X @ params["W1"] + params["b1"]
    h = z1 * (z1 > 0)
    return h @ params["W2"] + params["b2"], (h, X)

def backward(params, cache, dscores):
    h, X = cache
    dh = dscores @ params["W2"].T
    dh[h <= 0] = 0
    return {"W1": X.T @ dh, "b1": dh.sum(axis=0), "W2": h.T @ dscores, "b2": dscores.sum(axis=0)}
'''},
    {"name": "softmax_cross_entropy with take_along_axis and an identity-matrix one-hot",
     "tests": ["test_softmax_cross_entropy_loss", "test_softmax_cross_entropy_gradient",
               "test_softmax_cross_entropy_is_stable"], "code": '''
def softmax_cross_entropy(scores, y):
    z = scores - scores.max(axis=1, keepdims=True)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    loss = -np.mean(np.take_along_axis(np.log(p), y[:, None], axis=1))
    return loss, (p - np.eye(scores.shape[1])[y]) / len(y)
'''},
    {"name": "numerical_gradient through a flat view of x",
     "tests": ["test_numerical_gradient_values", "test_numerical_gradient_restores_x"], "code": '''
def numerical_gradient(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    flat, g = x.reshape(-1), grad.reshape(-1)
    for k in range(x.size):
        old = flat[k]
        flat[k] = old + h
        fp = f(x)
        flat[k] = old - h
        fm = f(x)
        flat[k] = old
        g[k] = (fp - fm) / (2 * h)
    return grad
'''},
]
