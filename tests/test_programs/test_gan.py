"""Program 3: GAN-style training with two optimizers in an ``OptimWrapperDict``."""

from __future__ import annotations

import os

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from _dist import run_in_processes
from torch.utils.data import Dataset

from piston.model import BaseModel
from piston.optim import DefaultOptimWrapperConstructor, OptimWrapper, OptimWrapperDict
from piston.registry import OPTIM_WRAPPER_CONSTRUCTORS
from piston.runner import Runner


class RealPoints(Dataset):
    """2-d points from a shifted Gaussian: the "real" distribution."""

    def __init__(self, size: int = 16) -> None:
        gen = torch.Generator().manual_seed(3)
        self.points = torch.randn(size, 2, generator=gen) * 0.5 + 2.0

    def __len__(self) -> int:
        return len(self.points)

    def __getitem__(self, idx):
        return {"inputs": self.points[idx]}


class TinyGAN(BaseModel):
    def __init__(self, noise_dim: int = 3) -> None:
        super().__init__()
        self.noise_dim = noise_dim
        self.generator = nn.Sequential(nn.Linear(noise_dim, 8), nn.ReLU(), nn.Linear(8, 2))
        self.discriminator = nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 1))
        self.steps: list[str] = []

    def forward(self, inputs, mode: str = "tensor"):
        return self.generator(torch.randn(len(inputs), self.noise_dim))

    def disc_loss(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        real_logit = self.discriminator(real)
        fake_logit = self.discriminator(fake)
        return F.binary_cross_entropy_with_logits(
            real_logit, torch.ones_like(real_logit)
        ) + F.binary_cross_entropy_with_logits(fake_logit, torch.zeros_like(fake_logit))

    def train_step(self, data, optim_wrapper: OptimWrapperDict):
        data = self.data_preprocessor(data, True)
        real = data["inputs"]
        noise = torch.randn(len(real), self.noise_dim)
        assert isinstance(optim_wrapper, OptimWrapperDict)

        disc_wrapper = optim_wrapper["discriminator"]
        with disc_wrapper.optim_context(self.discriminator):
            fake = self.generator(noise).detach()
            loss_d = self.disc_loss(real, fake)
        disc_wrapper.update_params(loss_d)
        self.steps.append("d")

        gen_before = [p.detach().clone() for p in self.discriminator.parameters()]
        with optim_wrapper["generator"].optim_context(self.generator):
            fake_logit = self.discriminator(self.generator(noise))
            loss_g = F.binary_cross_entropy_with_logits(fake_logit, torch.ones_like(fake_logit))
        optim_wrapper["generator"].update_params(loss_g)
        # the generator step must not move the discriminator
        for before, param in zip(gen_before, self.discriminator.parameters()):
            assert torch.equal(before, param)
        self.steps.append("g")
        _, log_vars = self.parse_losses({"loss_d": loss_d, "loss_g": loss_g})
        return log_vars


@OPTIM_WRAPPER_CONSTRUCTORS.register_module(force=True)
class GANOptimWrapperConstructor:
    """Builds one optimizer wrapper per named submodule, as multi-optimizer projects do."""

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None) -> None:
        self.optim_wrapper_cfg = optim_wrapper_cfg
        self.paramwise_cfg = paramwise_cfg

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        model = getattr(model, "module", model)
        wrappers = {}
        for name, cfg in self.optim_wrapper_cfg.items():
            wrappers[name] = DefaultOptimWrapperConstructor(cfg)(getattr(model, name))
        return OptimWrapperDict(**wrappers)


def _loader() -> dict:
    return dict(
        dataset=RealPoints(16),
        batch_size=4,
        sampler=dict(type="DefaultSampler", shuffle=True),
        collate_fn=dict(type="default_collate"),
    )


def test_gan_with_custom_constructor_and_schedulers(tmp_path) -> None:
    model = TinyGAN()
    g0 = [p.detach().clone() for p in model.generator.parameters()]
    d0 = [p.detach().clone() for p in model.discriminator.parameters()]
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=_loader(),
        train_cfg=dict(by_epoch=True, max_epochs=2),
        optim_wrapper=dict(
            constructor="GANOptimWrapperConstructor",
            generator=dict(type="OptimWrapper", optimizer=dict(type="Adam", lr=1e-3)),
            discriminator=dict(type="OptimWrapper", optimizer=dict(type="SGD", lr=0.05)),
        ),
        param_scheduler=dict(
            generator=dict(type="ConstantLR", factor=0.5, begin=0, end=2, by_epoch=True),
            discriminator=dict(type="MultiStepLR", milestones=[1], gamma=0.1, by_epoch=True),
        ),
        default_hooks=dict(logger=dict(type="LoggerHook", interval=2)),
        randomness=dict(seed=0),
    )
    runner.train()
    wrappers = runner.optim_wrapper
    assert isinstance(wrappers, OptimWrapperDict)
    assert set(wrappers.keys()) == {"generator", "discriminator"}
    assert isinstance(wrappers["generator"].optimizer, torch.optim.Adam)
    assert model.steps == ["d", "g"] * 8
    assert all(not torch.equal(a, b) for a, b in zip(g0, model.generator.parameters()))
    assert all(not torch.equal(a, b) for a, b in zip(d0, model.discriminator.parameters()))
    # schedulers are kept per optimizer; after 2 epochs: G back to 1e-3, D decayed to 5e-3
    assert set(runner.param_schedulers) == {"generator", "discriminator"}
    assert abs(wrappers["generator"].get_lr()["lr"][0] - 1e-3) < 1e-12
    assert abs(wrappers["discriminator"].get_lr()["lr"][0] - 5e-3) < 1e-12
    # both losses and both learning rates are logged
    hub = runner.message_hub
    assert {"train/loss_d", "train/loss_g", "train/loss"} <= set(hub.log_scalars)
    assert {"train/generator.lr", "train/discriminator.lr"} <= set(hub.log_scalars)
    # checkpoint holds one optimizer state per name; resuming restores them
    ckpt = torch.load(os.path.join(str(tmp_path), "epoch_2.pth"), weights_only=False)
    assert set(ckpt["optimizer"]) == {"generator", "discriminator"}
    assert set(ckpt["param_schedulers"]) == {"generator", "discriminator"}

    resumed = Runner(
        model=TinyGAN(),
        work_dir=str(tmp_path),
        train_dataloader=_loader(),
        train_cfg=dict(by_epoch=True, max_epochs=3),
        optim_wrapper=dict(
            constructor="GANOptimWrapperConstructor",
            generator=dict(type="OptimWrapper", optimizer=dict(type="Adam", lr=1e-3)),
            discriminator=dict(type="OptimWrapper", optimizer=dict(type="SGD", lr=0.05)),
        ),
        param_scheduler=dict(
            generator=dict(type="ConstantLR", factor=0.5, begin=0, end=2, by_epoch=True),
            discriminator=dict(type="MultiStepLR", milestones=[1], gamma=0.1, by_epoch=True),
        ),
        resume=True,
        randomness=dict(seed=0),
    )
    resumed.train()
    assert (resumed.epoch, resumed.iter) == (3, 12)
    assert len(resumed.model.steps) == 8
    adam_state = resumed.optim_wrapper["generator"].optimizer.state_dict()["state"]
    assert int(adam_state[0]["step"]) == 12


def test_gan_with_prebuilt_wrappers(tmp_path) -> None:
    model = TinyGAN()
    runner = Runner(
        model=model,
        work_dir=str(tmp_path),
        train_dataloader=_loader(),
        train_cfg=dict(by_epoch=False, max_iters=3),
        optim_wrapper=dict(
            generator=OptimWrapper(torch.optim.SGD(model.generator.parameters(), lr=0.1)),
            discriminator=OptimWrapper(
                torch.optim.SGD(model.discriminator.parameters(), lr=0.1), accumulative_counts=1
            ),
        ),
        default_hooks=dict(checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=3)),
    )
    runner.train()
    assert model.steps == ["d", "g"] * 3
    assert runner.iter == 3
    assert os.path.isfile(os.path.join(str(tmp_path), "iter_3.pth"))


def _gan_ddp_worker(rank: int, world_size: int, work_dir: str) -> None:
    runner = Runner(
        model=dict(type=TinyGAN),
        work_dir=work_dir,
        train_dataloader=_loader(),
        train_cfg=dict(by_epoch=True, max_epochs=1),
        optim_wrapper=dict(
            constructor="GANOptimWrapperConstructor",
            generator=dict(type="OptimWrapper", optimizer=dict(type="Adam", lr=1e-3)),
            discriminator=dict(type="OptimWrapper", optimizer=dict(type="SGD", lr=0.05)),
        ),
        # each submodule gets its own DDP wrapper, so a custom train_step can call them
        cfg=dict(model_wrapper_cfg=dict(type="MMSeparateDistributedDataParallel")),
        launcher="pytorch",
        env_cfg=dict(dist_cfg=dict(backend="gloo")),
        randomness=dict(seed=1),
    )
    runner.train()
    assert type(runner.model).__name__ == "MMSeparateDistributedDataParallel"
    module = runner.model.module
    assert module.steps == ["d", "g"] * (16 // (4 * world_size))
    torch.save(module.state_dict(), os.path.join(work_dir, f"rank{rank}.pt"))


@pytest.mark.distributed
def test_gan_data_parallel_with_separate_wrappers(tmp_path) -> None:
    run_in_processes(_gan_ddp_worker, 2, str(tmp_path), init_group=False)
    states = [torch.load(os.path.join(str(tmp_path), f"rank{r}.pt")) for r in range(2)]
    for name, value in states[0].items():
        torch.testing.assert_close(states[1][name], value, rtol=0, atol=0)
