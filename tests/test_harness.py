"""The borderline-retry policy of threshold tests, on a stand-in model whose accuracy depends on the seed."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from grader.core import kit
from grader.train import harness


@pytest.fixture
def accuracy_by_seed(monkeypatch):
    """Make training report the accuracy listed for its seed, and record the seeds trained."""
    table: dict[int, float] = {}
    trained: list[int] = []

    def fake_train_and_score(model, dataset, *, seed, **training):
        assert training["reference_step"] == 0.05, "the reference architecture's pace must reach the budget"
        trained.append(seed)
        return harness.Score(table[seed], 1, 1, 2.0, [0.1], 64, 1e-3)

    monkeypatch.setattr(harness, "train_and_score", fake_train_and_score)
    monkeypatch.setattr(harness, "reference_step_seconds", lambda spec, device: 0.05)
    return table, trained


@pytest.mark.parametrize("accuracies, trained, passed", [
    ({0: 98.9}, [0], True),                              # a clear pass: one run
    ({0: 98.41, 1: 98.63}, [0, 1], True),                # borderline, then a pass on the next seed
    ({0: 98.3, 1: 98.4, 2: 98.45}, [0, 1, 2], False),    # borderline every time: three runs, a fail
    ({0: 92.0}, [0], False),                             # far below the band: never retried
    ({0: 98.41, 1: 91.0}, [0, 1], False),                # a retry that falls far below stops there
])
def test_only_borderline_results_are_retried(accuracy_by_seed, accuracies, trained, passed):
    table, seen = accuracy_by_seed
    table.update(accuracies)
    spec = kit.Threshold("07_cnn", "test_x", "07_cnn/cnn.py:SimpleCNN", "mnist", threshold=98.5, band=0.3, epochs=1,
                         batch_size=64, lr=0.01, time_budget=60.0)
    measured: dict = {}
    verdict = harness.judge_threshold(lambda: nn.Linear(1, 1), spec, device=torch.device("cpu"), metrics=measured)
    assert seen == trained and verdict.passed is passed
    said = verdict.describe()
    text, chinese = str(said), said.texts["zh-TW"]
    assert all(f"{accuracies[s]:.2f}% (seed {s})" in text for s in trained), text
    assert all(f"{accuracies[s]:.2f}%（種子 {s}）" in chinese for s in trained), chinese
    assert f"{'>=' if passed else '<'} 98.5%；1 個 epoch，批次大小 64" in chinese, chinese
    assert [t["seed"] for t in measured["tries"]] == trained and measured["threshold"] == 98.5


@pytest.mark.parametrize("device", ["cpu", "cuda"])
def test_threshold_training_is_deterministic_and_leaves_the_settings_as_it_found_them(device):
    """CUDA flags can be set without a GPU: inside, every repeatable setting is on; after, all restored."""
    from grader.train.harness import deterministic

    backends = torch.backends
    before = (torch.are_deterministic_algorithms_enabled(), backends.cudnn.deterministic, backends.cudnn.benchmark,
              backends.cudnn.allow_tf32, backends.cuda.matmul.allow_tf32)
    backends.cudnn.benchmark = backends.cudnn.allow_tf32 = True  # as a fast-by-default setup would have them
    try:
        with deterministic(device):
            assert torch.are_deterministic_algorithms_enabled()
            if device == "cuda":
                assert backends.cudnn.deterministic and not backends.cudnn.benchmark
                assert not backends.cudnn.allow_tf32 and not backends.cuda.matmul.allow_tf32
            else:
                assert backends.cudnn.benchmark, "CPU training leaves the cuDNN settings alone"
        assert backends.cudnn.benchmark and backends.cudnn.allow_tf32, "restored"
        assert torch.are_deterministic_algorithms_enabled() == before[0]
    finally:
        (_, backends.cudnn.deterministic, backends.cudnn.benchmark, backends.cudnn.allow_tf32,
         backends.cuda.matmul.allow_tf32) = before


def test_jobs_on_cuda_take_turns_on_the_visible_gpus(monkeypatch, capsys):
    from grader.cli.settings import jobs_on

    assert jobs_on("cpu", 4) == 4
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert jobs_on("cuda", 4) == 1 and "grading 1 at a time" in capsys.readouterr().err
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert jobs_on("cuda", 4) == 2 and jobs_on("cuda", 1) == 1


def test_time_budget_scales_with_the_reference_architecture_timed_on_this_machine():
    """A slow machine slows the reference too: the budget grows with it, never below the kit's floor;
    a run stopped by it names the measured ratio."""
    assert harness.run_budget(400.0, 0.01, 1000) == 400.0  # fast machine: the floor
    assert harness.run_budget(400.0, 0.5, 1000) == harness.SLOWDOWN * 500.0  # busy machine: 5 x 500 s
    assert harness.run_budget(400.0, None, 1000) == 400.0 and harness.run_budget(None, 0.5, 10) is None
    sizes = {name: sum(p.numel() for p in harness.reference_architecture(name).parameters())
             for name in ("MLP", "SimpleCNN")}
    assert sizes == {"MLP": 109_386, "SimpleCNN": 421_642}, sizes  # the contract's architectures
    spec = kit.threshold("09_experiments", "test_fashion_mnist_cnn")
    assert harness.reference_step_seconds(spec, torch.device("cpu")) > 0
    other = kit.Threshold("x", "test_x", "10_x/x.py:Other", "mnist", 90.0, 0.5, 1, 64, 1e-3, 60.0)
    assert harness.reference_step_seconds(other, torch.device("cpu")) is None
    score = harness.Score(80.0, 1, 2, 3000.0, [0.5], 64, 1e-3, steps=1000, budget=2500.0, reference_step=0.5)
    text = str(score.describe())
    assert "stopped after 1 of 2 epochs" in text and "6.0 times the 500 ms of the reference" in text, text


def test_a_model_many_times_slower_than_the_reference_is_stopped_with_the_ratio(monkeypatch):
    """On 64 stand-in images (2 steps an epoch): a model that sleeps 50 ms per forward, against a reference
    timed at 1 ms per step, exceeds 5 x 1 ms x 6 steps after its first epoch and is stopped there."""
    import time

    x, y = torch.randn(64, 1, 28, 28), torch.randint(0, 10, (64,))
    monkeypatch.setattr(harness, "load_tensors", lambda dataset, train, device: (x, y))

    class Slow(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(784, 10)

        def forward(self, images):
            time.sleep(0.05)
            return self.linear(images.flatten(1))

    score = harness.train_and_score(Slow(), "mnist", epochs=3, device=torch.device("cpu"), batch_size=32,
                                    time_budget=0.01, reference_step=0.001)
    assert score.epochs == 1 and score.budget == pytest.approx(0.03), score
    text = str(score.describe())
    assert "stopped after 1 of 3 epochs by the time budget" in text and "times the 1 ms of the reference" in text, text


@pytest.mark.parametrize("score, english, chinese", [
    (harness.Score(97.1, 4, 4, 9.06, [0.5, 0.1234], 128, 2e-3),
     "4 epochs, batch 128, Adam lr 0.002, 9.1 s of training; last training loss 0.123",
     "4 個 epoch，批次大小 128，Adam lr 0.002，訓練了 9.1 秒；最後的訓練損失為 0.123"),
    (harness.Score(11.3, 1, 3, 40.0, [float("nan")], 64, 1e-3, lr_decay=True, budget=30.0),
     "1 epoch, batch 64, Adam lr 0.001 decaying linearly to 0, 40.0 s of training; stopped after 1 of 3 epochs "
     "by the time budget of 30 s; the training loss became NaN/inf",
     "1 個 epoch，批次大小 64，Adam lr 0.001（線性遞減到 0），訓練了 40.0 秒；30 秒的時間預算用完，3 個 epoch "
     "只跑了 1 個就停止；訓練損失變成了 NaN/inf"),
    (harness.Score(50.0, 2, 5, 10.0, [], 64, 1e-3),
     "2 epochs, batch 64, Adam lr 0.001, 10.0 s of training; stopped after 2 of 5 epochs by the time budget",
     "2 個 epoch，批次大小 64，Adam lr 0.001，訓練了 10.0 秒；時間預算用完，5 個 epoch 只跑了 2 個就停止"),
])
def test_a_score_is_described_in_each_language(score, english, chinese):
    said = score.describe()
    assert (str(said), said.texts["zh-TW"]) == (english, chinese)


def test_a_threshold_message_carries_the_verdict_in_each_language():
    """06's message fills {verdict} with the Failure itself, so the Chinese text has no English settings in it."""
    from grader.core import failures

    score = harness.Score(90.2, 1, 2, 3000.0, [0.5], 64, 1e-3, steps=1000, budget=2500.0, reference_step=0.5)
    verdict = harness.Verdict(92.5, [(0, score)])
    message = failures.table(kit.EXERCISES_DIR / "06_mlp" / "test_mlp.py")(
        "accuracy_below_threshold", verdict=verdict.describe())
    assert "90.20% (seed 0) < 92.5%; 1 epoch, batch 64" in str(message) and "6.0 times the 500 ms" in str(message)
    chinese = message.texts["zh-TW"]
    assert "90.20%（種子 0） < 92.5%；1 個 epoch" in chinese and "500 毫秒的 6.0 倍" in chinese, chinese
    assert "epochs" not in chinese and "seed" not in chinese and "times" not in chinese, chinese
