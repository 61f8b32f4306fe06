"""Writes the TorchScript models the torchscript backbone tests load: a small
conditional velocity MLP and a reward, plus broken variants (another signature,
wrong output shapes, a reward without gradient, a file that is not TorchScript).

usage: test_torchscript_models.py OUT_DIR  (latent shape [2, 3], 3 conditions, null id 3)
"""
import os
import sys

import torch

SHAPE = (2, 3)
CONDITIONS = 3
DIM = SHAPE[0] * SHAPE[1]


class Velocity(torch.nn.Module):
    """v(x, t, c): x flattened, t and a condition embedding (row CONDITIONS = null) concatenated."""

    def __init__(self, hidden: int = 32):
        super().__init__()
        self.embed = torch.nn.Embedding(CONDITIONS + 1, 8)
        self.net = torch.nn.Sequential(
            torch.nn.Linear(DIM + 1 + 8, hidden), torch.nn.SiLU(), torch.nn.Linear(hidden, DIM))
        self.register_buffer("scale", torch.tensor(0.5))

    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = torch.cat([x.flatten(1), t[:, None], self.embed(cond)], dim=1)
        return (self.net(h) * self.scale).view_as(x)


class Reward(torch.nn.Module):
    """exp(-|x - target_c|^2 / 8): each condition prefers its own point."""

    def __init__(self):
        super().__init__()
        self.register_buffer("targets", torch.randn(CONDITIONS, DIM))

    def score(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return torch.exp(-((x.flatten(1) - self.targets[cond]) ** 2).sum(1) / 8.0)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.score(x, cond)


class VelocityTwoInputs(torch.nn.Module):
    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return x * t[:, None, None]


class VelocityWrongShape(Velocity):
    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return x.flatten(1)


class RewardColumn(Reward):
    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.score(x, cond)[:, None]


class RewardDetached(Reward):
    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return self.score(x.detach(), cond)


class VelocityRaises(Velocity):
    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        if bool((cond == 2).any()):
            raise ValueError("this model was trained without condition 2")
        h = torch.cat([x.flatten(1), t[:, None], self.embed(cond)], dim=1)
        return (self.net(h) * self.scale).view_as(x)


class VelocityFrozen(torch.nn.Module):
    def forward(self, x: torch.Tensor, t: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        return -x


def main() -> None:
    out = sys.argv[1]
    torch.manual_seed(0)
    models = {
        "velocity.pt": Velocity(),
        "reward.pt": Reward(),
        "velocity_two_inputs.pt": VelocityTwoInputs(),
        "velocity_wrong_shape.pt": VelocityWrongShape(),
        "reward_column.pt": RewardColumn(),
        "reward_detached.pt": RewardDetached(),
        "velocity_raises.pt": VelocityRaises(),
        "velocity_frozen.pt": VelocityFrozen(),
    }
    for name, module in models.items():
        torch.jit.script(module).save(os.path.join(out, name))
    with open(os.path.join(out, "not_torchscript.pt"), "w") as f:
        f.write("this is not a TorchScript archive\n")


if __name__ == "__main__":
    main()
