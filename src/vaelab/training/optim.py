"""Adam, step for step as ``torch.optim.Adam`` on one device, without importing ``torch._dynamo``.

Why not ``torch.optim.Adam``: constructing any ``torch.optim`` optimizer imports
``torch._dynamo`` (its methods are wrapped in ``torch._disable_dynamo``), which took 1.3 s of
a 4.8 s ``vaelab train`` on the bundled coffee set — longer than the training itself
(measured with ``python -X importtime``, torch 2.13, 2 cores). This class performs the same
arithmetic as torch's default single-tensor Adam (``amsgrad=False``, ``maximize=False``,
L2 ``weight_decay`` added to the gradient, as in Kingma & Ba 2015, Algorithm 1), so results
are bit-identical to ``torch.optim.Adam`` with ``foreach=False`` (tested), and its
``state_dict`` has torch's layout, so checkpoints keep their format.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch


class Adam:
    """Adam (Kingma & Ba 2015) over a list of parameters; one parameter group."""

    def __init__(self, params: Iterable[torch.Tensor], lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0):
        if not lr >= 0.0:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not eps >= 0.0:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"Invalid beta parameters: {betas}")
        if not weight_decay >= 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        self.params = [p for p in params]
        if not self.params:
            raise ValueError("Adam got an empty parameter list")
        self.lr, self.betas, self.eps, self.weight_decay = float(lr), (float(betas[0]), float(betas[1])), float(eps), \
            float(weight_decay)
        self.state: dict[int, dict[str, torch.Tensor]] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.params:
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.detach_()
                p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        beta1, beta2 = self.betas
        for i, param in enumerate(self.params):
            grad = param.grad
            if grad is None:
                continue
            st = self.state.get(i)
            if st is None:
                st = self.state[i] = {"step": torch.tensor(0.0, dtype=torch.float32),
                                      "exp_avg": torch.zeros_like(param, memory_format=torch.preserve_format),
                                      "exp_avg_sq": torch.zeros_like(param, memory_format=torch.preserve_format)}
            exp_avg, exp_avg_sq, step_t = st["exp_avg"], st["exp_avg_sq"], st["step"]
            step_t += 1
            if self.weight_decay != 0:
                grad = grad.add(param, alpha=self.weight_decay)
            exp_avg.lerp_(grad, 1 - beta1)
            exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            step = float(step_t.item())
            bias_correction1 = 1 - beta1**step
            bias_correction2 = 1 - beta2**step
            step_size = self.lr / bias_correction1
            denom = (exp_avg_sq.sqrt() / bias_correction2**0.5).add_(self.eps)
            param.addcdiv_(exp_avg, denom, value=-step_size)

    # ------------------------------------------------------------------ state (torch's layout)
    def _group(self) -> dict[str, Any]:
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps, "weight_decay": self.weight_decay,
                "amsgrad": False, "maximize": False, "foreach": False, "capturable": False, "differentiable": False,
                "fused": None, "decoupled_weight_decay": False, "params": list(range(len(self.params)))}

    def state_dict(self) -> dict[str, Any]:
        return {"state": {i: dict(st) for i, st in sorted(self.state.items())}, "param_groups": [self._group()]}

    def load_state_dict(self, sd: Mapping[str, Any]) -> None:
        groups = list(sd.get("param_groups", []))
        if len(groups) != 1 or len(groups[0].get("params", [])) != len(self.params):
            raise ValueError("loaded state dict has a different number of parameter groups or parameters")
        g = groups[0]
        state: dict[int, dict[str, torch.Tensor]] = {}
        for key, st in dict(sd.get("state", {})).items():
            i = int(key)
            if not 0 <= i < len(self.params):
                raise ValueError(f"loaded state dict refers to parameter {key!r}, which does not exist")
            p = self.params[i]
            out = {}
            for name in ("exp_avg", "exp_avg_sq"):
                t = st[name]
                if not isinstance(t, torch.Tensor) or t.shape != p.shape:
                    raise ValueError(f"loaded state of parameter {i} ({name}) does not match its size")
                out[name] = t.detach().to(device=p.device, dtype=p.dtype).clone()
            out["step"] = torch.as_tensor(st["step"], dtype=torch.float32).detach().clone().reshape(())
            state[i] = out
        self.lr = float(g.get("lr", self.lr))
        b = g.get("betas", self.betas)
        self.betas = (float(b[0]), float(b[1]))
        self.eps = float(g.get("eps", self.eps))
        self.weight_decay = float(g.get("weight_decay", self.weight_decay))
        self.state = state
