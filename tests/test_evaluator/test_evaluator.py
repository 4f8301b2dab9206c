from __future__ import annotations

import pickle

import pytest
import torch

from piston.evaluator import BaseMetric, DumpResults, Evaluator, get_metric_value
from piston.logging import MMLogger
from piston.registry import EVALUATOR, METRICS
from piston.structures import BaseDataElement


class Accuracy(BaseMetric):
    """The seed tutorial's metric, verbatim."""

    def process(self, data_batch, data_samples):
        score, gt = data_samples
        self.results.append(
            {
                "batch_size": len(gt),
                "correct": (score.argmax(dim=1) == gt).sum().cpu(),
            }
        )

    def compute_metrics(self, results):
        total_correct = sum(item["correct"] for item in results)
        total_size = sum(item["batch_size"] for item in results)
        return {"accuracy": 100 * total_correct / total_size}


class SampleAccuracy(BaseMetric):
    """One result per sample: exact under distributed padding."""

    default_prefix = "toy"

    def process(self, data_batch, data_samples):
        for sample in data_samples:
            self.results.append(int(sample["pred"] == sample["gt"]))

    def compute_metrics(self, results):
        return {"acc": sum(results) / len(results), "n": len(results)}


class Recorder(BaseMetric):
    def __init__(self, name="seen", **kwargs):
        super().__init__(**kwargs)
        self.name = name
        self.batches = []

    def process(self, data_batch, data_samples):
        self.batches.append((data_batch, data_samples))
        self.results.append(1)

    def compute_metrics(self, results):
        return {self.name: len(results)}


@pytest.fixture
def log_file(tmp_path):
    path = tmp_path / "eval.log"
    MMLogger.get_instance("evaluator_test", log_file=str(path))
    return path


def test_seed_metric_without_prefix_warns_and_plain_key(log_file):
    evaluator = Evaluator({"type": Accuracy})
    logits = torch.tensor([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]])
    labels = torch.tensor([1, 1, 1])
    evaluator.process(data_samples=(logits, labels), data_batch=[None, labels])
    metrics = evaluator.evaluate(3)
    assert list(metrics) == ["accuracy"]
    assert float(metrics["accuracy"]) == pytest.approx(200 / 3)
    assert "The prefix is not set in metric class Accuracy." in log_file.read_text()


def test_process_converts_data_elements_and_passes_others():
    recorder = Recorder(prefix="r")
    evaluator = Evaluator(recorder)
    element = BaseDataElement(metainfo={"img_id": 3}, pred=torch.tensor(1))
    batch = {"inputs": "x"}
    evaluator.process([element, "plain", (1, 2)], batch)
    data_batch, samples = recorder.batches[0]
    assert data_batch is batch
    assert samples[0] == {"img_id": 3, "pred": torch.tensor(1)}
    assert samples[1:] == ["plain", (1, 2)]


def test_prefix_and_default_prefix():
    evaluator = Evaluator([SampleAccuracy(), SampleAccuracy(prefix="other")])
    evaluator.process([{"pred": 1, "gt": 1}, {"pred": 0, "gt": 1}])
    assert evaluator.evaluate(2) == {"toy/acc": 0.5, "toy/n": 2, "other/acc": 0.5, "other/n": 2}


def test_results_cleared_and_trimmed_to_size():
    metric = SampleAccuracy()
    evaluator = Evaluator(metric)
    evaluator.process([{"pred": 1, "gt": 1}] * 3 + [{"pred": 0, "gt": 1}])
    assert evaluator.evaluate(3) == {"toy/acc": 1.0, "toy/n": 3}
    assert metric.results == []


def test_colliding_metric_names_raise():
    evaluator = Evaluator([Recorder(prefix="a"), Recorder(prefix="a")])
    evaluator.process([1])
    with pytest.raises(ValueError, match="multiple evaluation results with the same metric name"):
        evaluator.evaluate(1)


def test_dataset_meta_propagates():
    metrics = [Recorder(prefix="a"), Recorder(prefix="b")]
    evaluator = Evaluator(metrics)
    assert evaluator.dataset_meta is None
    evaluator.dataset_meta = {"classes": ("cat", "dog")}
    assert all(m.dataset_meta == {"classes": ("cat", "dog")} for m in metrics)


def test_empty_results_warn(log_file):
    Evaluator(Recorder(prefix="p")).metrics[0].evaluate(0)
    assert "got empty `self.results`" in log_file.read_text()


def test_collect_dir_requires_cpu():
    with pytest.raises(ValueError, match="collect_device"):
        Recorder(collect_device="gpu", collect_dir="/tmp/x")


def test_built_from_registries():
    assert EVALUATOR.get("Evaluator") is Evaluator
    assert METRICS.get("DumpResults") is DumpResults
    evaluator = EVALUATOR.build(
        {"type": "Evaluator", "metrics": [{"type": Recorder, "prefix": "x"}]}
    )
    assert isinstance(evaluator.metrics[0], Recorder)


def test_metric_results_moved_to_cpu_before_compute():
    class Tracked(BaseDataElement):
        def to(self, *args, **kwargs):
            return BaseDataElement(moved_to=str(args[0]))

    class Devices(BaseMetric):
        def process(self, data_batch, data_samples):
            self.results.append({"l": [Tracked()], "t": (Tracked(),)})

        def compute_metrics(self, results):
            return {"list": results[0]["l"][0].moved_to, "tuple": results[0]["t"][0].moved_to}

    metric = Devices(prefix="d")
    metric.process(None, [])
    assert metric.evaluate(1) == {"d/list": "cpu", "d/tuple": "cpu"}


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_metric_cuda_tensors_moved_to_cpu():
    class Devices(BaseMetric):
        def process(self, data_batch, data_samples):
            self.results.append(torch.ones(1, device="cuda"))

        def compute_metrics(self, results):
            return {"dev": results[0].device.type}

    metric = Devices(prefix="d")
    metric.process(None, [])
    assert metric.evaluate(1) == {"d/dev": "cpu"}


def test_dump_results(tmp_path, log_file):
    out = tmp_path / "preds.pkl"
    evaluator = Evaluator({"type": "DumpResults", "out_file_path": str(out)})
    evaluator.process([BaseDataElement(pred=torch.tensor([1.0]))], None)
    evaluator.process([{"pred": torch.tensor([2.0])}], None)
    assert evaluator.evaluate(2) == {}
    with open(out, "rb") as f:
        dumped = pickle.load(f)
    assert len(dumped) == 2
    assert torch.equal(dumped[1]["pred"], torch.tensor([2.0]))
    assert f"Results has been saved to {out}." in log_file.read_text()
    with pytest.raises(ValueError, match="pkl"):
        DumpResults(out_file_path=str(tmp_path / "preds.json"))
    other = tmp_path / "preds.pickle"  # the second accepted suffix
    evaluator = Evaluator(DumpResults(out_file_path=str(other)))
    evaluator.process([{"pred": torch.tensor([3.0])}], None)
    assert evaluator.evaluate(1) == {}
    with open(other, "rb") as f:
        assert torch.equal(pickle.load(f)[0]["pred"], torch.tensor([3.0]))


def test_offline_evaluate():
    recorder = Recorder(prefix="o")
    evaluator = Evaluator(recorder)
    outputs = [{"pred": i} for i in range(5)]
    data = [{"inputs": torch.tensor([i])} for i in range(5)]
    assert evaluator.offline_evaluate(outputs, data, chunk_size=2) == {"o/seen": 3}
    assert [len(samples) for _, samples in recorder.batches] == [2, 2, 1]
    assert recorder.batches[0][0]["inputs"][1].item() == 1  # pseudo-collated
    assert Evaluator(Recorder(prefix="p")).offline_evaluate(outputs) == {"p/seen": 5}
    with pytest.raises(AssertionError):
        evaluator.offline_evaluate(outputs, data[:2])
    with pytest.raises(AssertionError, match="chunk_size"):
        evaluator.offline_evaluate(outputs, chunk_size=0)  # would silently evaluate nothing


def test_get_metric_value():
    metrics = {"val/acc": 1, "test/acc": 2, "val/loss": 3, "top1": 4}
    assert get_metric_value("val/acc", metrics) == 1
    assert get_metric_value("loss", metrics) == 3
    assert get_metric_value("top1", metrics) == 4
    with pytest.raises(ValueError, match="ambiguous"):
        get_metric_value("acc", metrics)
    with pytest.raises(ValueError, match="can not match"):
        get_metric_value("val/f1", metrics)
    with pytest.raises(ValueError, match="can not match"):
        get_metric_value("f1", metrics)


@pytest.mark.parametrize("collect_device", ["cpu", "gpu"])
def test_non_distributed_collect_truncates_for_every_device(collect_device: str) -> None:
    """Outside a process group both collect devices give ``results[:size]`` (no GPU used)."""

    class PerSample(BaseMetric):
        def process(self, data_batch, data_samples):
            self.results.extend(int(s) for s in data_samples)

        def compute_metrics(self, results):
            return {"ids": list(results)}

    metric = PerSample(collect_device=collect_device, prefix="p")
    metric.process(None, torch.arange(5))
    assert metric.evaluate(3) == {"p/ids": [0, 1, 2]}
    assert metric.results == []
