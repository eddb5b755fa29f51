"""The SNES epoch of the potential trainer: GPUMD's gradient-free separable natural evolution strategy
(:class:`~nnsurrogate.core.engine.snes.SNES`), one generation per mini-batch."""

from __future__ import annotations

import contextlib

import torch

from nnsurrogate.atomistic.frames import make_batch, minibatches
from nnsurrogate.atomistic.losses import ErrorSums, candidate_loss, error_sums, penalty, solve_energy_shift
from nnsurrogate.atomistic.train_body import EpochBody, Fit
from nnsurrogate.core.engine.snes import SNES, SNES_SIGMA0

__all__ = ["SNESEpochs"]


@torch.no_grad()
def _set_parameters(params: list[torch.nn.Parameter], vector: torch.Tensor) -> None:
    """Copy the flat *vector* (n,) into *params* (in their dtype and device). Unlike
    ``torch.nn.utils.vector_to_parameters`` this keeps every parameter's own storage (no views of
    *vector*, which safetensors would refuse as shared memory)."""
    offset = 0
    for p in params:
        p.copy_(vector[offset : offset + p.numel()].view_as(p))
        offset += p.numel()


@contextlib.contextmanager
def _frozen(params: list[torch.nn.Parameter]):
    """No parameter graph while candidates are evaluated (forces still come from autograd)."""
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in zip(params, flags):
            p.requires_grad_(flag)


class SNESEpochs(EpochBody):
    """SNES over the flat vector of trainable parameters: μ starts at the model's weights, σ at
    :data:`~nnsurrogate.core.engine.snes.SNES_SIGMA0`; ``population`` candidates per generation.

    After an epoch the model holds μ; a model with ``bias_by_shift`` then gets its energy bias solved
    in closed form, as after an Adam epoch, and the shift is kept in μ. The learning-rate column of
    the history holds the mean search width mean(σ).
    """

    def __init__(self, fit: Fit) -> None:
        super().__init__(fit)
        self.params = [p for p in fit.model.parameters() if p.requires_grad]
        start = torch.nn.utils.parameters_to_vector(self.params)
        self.snes = SNES(start, fit.config.population, SNES_SIGMA0)

    @staticmethod
    def signature_fields(config) -> tuple:
        return (config.population,)

    def epoch(self, deadline: float | None) -> ErrorSums:
        fit = self.fit
        total = ErrorSums.zeros()
        for frames in minibatches(len(fit.data), fit.config.batch_size, fit.ctx, fit.generator, deadline):
            total = total + self._generation(frames)
        _set_parameters(self.params, self.snes.mu)
        if fit.model.bias_by_shift:
            before = torch.nn.utils.parameters_to_vector(self.params).detach()
            solve_energy_shift(fit.model, fit.data, fit.config.batch_size, fit.env)
            moved = torch.nn.utils.parameters_to_vector(self.params).detach() - before  # only the bias entries
            self.snes.mu = self.snes.mu + moved.to("cpu", torch.float64)
        return total

    def _generation(self, frames: list[int]) -> ErrorSums:
        """One SNES generation on the batch *frames*: sample P candidates, score them, update μ and σ.

        Every rank draws the same samples and scores every candidate on its share of the batch; the
        error sums are all-reduced, so all ranks rank the candidates alike. Each candidate's loss is
        GPUMD's: the weighted RMSEs on the batch plus λ_1 mean|θ| + λ_2 √(mean θ²) of its own θ.
        Returns the global error sums of μ before the update (the epoch's training error).
        """
        fit, env, config = self.fit, self.fit.env, self.fit.config
        z, thetas = self.snes.sample(fit.generator)  # (P, n) each
        batch, targets = make_batch(fit.model, fit.data, fit.ctx.share(frames), env.device, env.dtype)
        rows = []
        with _frozen(self.params):
            for theta in [*thetas, self.snes.mu]:
                _set_parameters(self.params, theta)
                pred = fit.model(batch, forces=True, virial=env.virial)
                rows.append(error_sums({key: v.detach() for key, v in pred.items()}, targets).to_float64().as_tensor())
        sums = [ErrorSums.from_tensor(row) for row in fit.ctx.all_reduce(torch.stack(rows))]  # (P + 1) × 7
        losses = torch.tensor([candidate_loss(row, config) for row in sums[:-1]], dtype=torch.float64)
        if config.lambda_1 > 0 or config.lambda_2 > 0:
            losses = losses + penalty(thetas, config)
        self.snes.update(z, losses)
        return sums[-1]

    @property
    def learning_rate(self) -> float:
        return self.snes.learning_rate

    def state_dict(self) -> dict:
        return self.snes.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.snes.load_state_dict(state)
