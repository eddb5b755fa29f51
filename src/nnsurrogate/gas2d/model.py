"""A trained 2D-gas force model: its network (LeNet or radial pair sum), head, descriptor and what it
needs to turn outputs into forces.

Saved through :mod:`nnsurrogate.core.modelio` (safetensors weights + ``model.json``; loading never
unpickles). Prediction takes count images (n, grid, grid) and returns force classes and forces in
eV/Å; with ``symmetrize`` the outputs of the eight D4 images of each sample are mapped back and
averaged, which makes the prediction exactly equivariant (rotating the image rotates the force).
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

import numpy as np
import torch

from nnsurrogate.core.errors import ModelFileError, UserInputError
from nnsurrogate.core.modelio import load_model, load_weights, save_model
from nnsurrogate.core.threads import torch_threads
from nnsurrogate.gas2d.classes import class_centres, force_classes
from nnsurrogate.gas2d.descriptor import DESCRIPTORS, descriptor_channels
from nnsurrogate.gas2d.network import NETWORKS, LeNet, PairSumNet
from nnsurrogate.gas2d.symmetry import D4_MATRICES, class_probability_back, image_permutations, transform_descriptors

__all__ = ["Gas2DForceModel", "ModelConfig", "check_model_kind"]

KIND = "atomistic.gas2d.LeNet"
HEADS = ("classify", "regress")


@dataclass(frozen=True)
class ModelConfig:
    """Everything besides the weights that a prediction needs.

    Attributes
    ----------
    head : str
        ``"classify"`` or ``"regress"``.
    grid : int
        Cells per side of the input image.
    n_classes : int
        K, classes per force component.
    f_max : float
        Half-width of the binned force range, eV/Å.
    window : float
        Window side, Å (for checking that images come from the same geometry).
    force_scale : float
        Regression target is F / force_scale, eV/Å.
    input_scale : float
        Factor applied to the counts before the first layer.
    joint : bool
        Classification over K² (x, y) class pairs (else two K-way soft-maxes, as the paper).
    symmetrize : bool
        Average the prediction over the eight symmetries of the square.
    data : dict
        Generator parameters of the training data (potential, density, window, …).
    descriptor : str
        ``"counts"`` (the paper's image) or ``"subcell"`` (counts and offsets within the cells).
    network : str
        ``"lenet"`` or ``"pairsum"`` (learned radial pair force; sub-cell descriptor, regression head).
    """

    head: str
    grid: int
    n_classes: int
    f_max: float
    window: float
    force_scale: float = 1.0
    input_scale: float = 1.0
    joint: bool = True
    symmetrize: bool = True
    data: dict = field(default_factory=dict)
    descriptor: str = "counts"
    network: str = "lenet"

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise UserInputError(f"head must be one of {', '.join(HEADS)}, got '{self.head}'", "head")
        check_model_kind(self.descriptor, self.network, self.head)
        class_centres(self.f_max, self.n_classes)  # a positive f_max and K ≥ 2, before anything is trained

    @property
    def n_outputs(self) -> int:
        if self.head == "regress":
            return 2
        return self.n_classes**2 if self.joint else 2 * self.n_classes


def check_model_kind(descriptor: str, network: str, head: str) -> None:
    """Raise :class:`UserInputError` unless descriptor, network and head go together."""
    if descriptor not in DESCRIPTORS:
        raise UserInputError(f"descriptor must be one of {', '.join(DESCRIPTORS)}, got '{descriptor}'", "descriptor")
    if network not in NETWORKS:
        raise UserInputError(f"network must be one of {', '.join(NETWORKS)}, got '{network}'", "network")
    if network == "pairsum" and (descriptor != "subcell" or head != "regress"):
        raise UserInputError("the pairsum network reads the subcell descriptor and predicts forces: use "
                             "--descriptor subcell --head regress", "network")


class Gas2DForceModel:
    """Force model on 2D-gas descriptors (see :class:`ModelConfig`).

    Parameters
    ----------
    config : ModelConfig
    net : LeNet or PairSumNet, optional
        Trained network; a freshly initialised one when omitted.

    Attributes
    ----------
    stopped_by : str or None
        What ended the training that made the model (``"epochs"`` or ``"time limit"``, see
        :func:`~nnsurrogate.gas2d.training.fit`); ``None`` for a loaded or untrained model.
    """

    def __init__(self, config: ModelConfig, net: LeNet | PairSumNet | None = None) -> None:
        self.config = config
        self.net = net if net is not None else build_network(config)
        self.stopped_by: str | None = None
        self._perms = torch.as_tensor(image_permutations(config.grid))

    # ------------------------------------------------------------------ prediction
    @torch.no_grad()
    def outputs(self, images: torch.Tensor) -> torch.Tensor:
        """Class-pair probabilities (B, K, K) or scaled forces (B, 2), symmetrised if configured."""
        self.net.eval()
        group = range(len(D4_MATRICES)) if self.config.symmetrize else (0,)
        total = None
        for g in group:
            x = transform_descriptors(images, torch.full((images.shape[0],), g), self._perms) if g else images
            value = self._back(self.net(x), g)
            total = value if total is None else total + value
        return total / len(group)

    def _back(self, raw: torch.Tensor, g: int) -> torch.Tensor:
        """Map raw outputs for the image transformed by element *g* back to the original frame."""
        k = self.config.n_classes
        if self.config.head == "regress":  # out' = R F  →  F = Rᵀ out'
            return raw @ torch.as_tensor(D4_MATRICES[g], dtype=raw.dtype)
        if self.config.joint:
            probs = raw.softmax(dim=1).reshape(-1, k, k)
        else:  # independent components: joint = outer product of the two soft-maxes
            px, py = raw[:, :k].softmax(dim=1), raw[:, k:].softmax(dim=1)
            probs = px[:, :, None] * py[:, None, :]
        return class_probability_back(probs, g)

    def predict(self, images: np.ndarray, batch_size: int = 2000, threads: int | None = 1) -> dict[str, np.ndarray]:
        """Force classes and forces for count images.

        Parameters
        ----------
        images : numpy.ndarray, shape (n, grid, grid) or (n, 3, grid, grid)
            The model's descriptor: count images (:func:`~nnsurrogate.gas2d.descriptor.grid_images`)
            or sub-cell descriptors (:func:`~nnsurrogate.gas2d.descriptor.subcell_images`).
        batch_size : int
        threads : int or None
            PyTorch threads while predicting (one is fastest for this small network on shared cores).

        Returns
        -------
        dict
            ``"classes"`` (n, 2) int: class of F_x and F_y; ``"forces"`` (n, 2), eV/Å: the regression
            output, or the centre of the predicted class for the classification head.
        """
        images = np.asarray(images, dtype=np.float32)
        g = self.config.grid
        expected = (g, g) if descriptor_channels(self.config.descriptor) == 1 else (3, g, g)
        if images.shape[1:] != expected:
            raise UserInputError(f"{self.config.descriptor} descriptors must have shape (n, "
                                 f"{', '.join(map(str, expected))}), got {images.shape}", "images")
        with torch_threads(threads):
            parts = [self.outputs(torch.from_numpy(images[i:i + batch_size]))
                     for i in range(0, len(images), batch_size)]
        out = torch.cat(parts).numpy() if parts else np.empty((0, 2))
        c = self.config
        if c.head == "regress":
            forces = out.astype(np.float64) * c.force_scale
            return {"classes": force_classes(forces, c.f_max, c.n_classes), "forces": forces}
        code = out.reshape(len(out), -1).argmax(axis=1)
        classes = np.stack([code // c.n_classes, code % c.n_classes], axis=1)
        return {"classes": classes, "forces": class_centres(c.f_max, c.n_classes)[classes]}

    # ------------------------------------------------------------------ files
    def save(self, directory: str | os.PathLike, extra: dict | None = None) -> None:
        """Write ``weights.safetensors`` + ``model.json`` (atomically)."""
        tensors = {k: v.detach().cpu() for k, v in self.net.state_dict().items()}
        header = {"config": asdict(self.config), "units": {"forces": "eV/Å", "f_max": "eV/Å", "window": "Å"},
                  **(extra or {})}
        save_model(directory, KIND, tensors, header)

    @classmethod
    def load(cls, directory: str | os.PathLike) -> "Gas2DForceModel":
        """Read a model folder written by :meth:`save`."""
        tensors, header = load_model(directory, KIND)
        try:
            config = ModelConfig(**header["config"])
            net = build_network(config)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ModelFileError(f"model.json does not describe a gas2d force model: {exc}", str(directory)) from None
        load_weights(net, tensors, str(directory))
        return cls(config, net)


def build_network(config: ModelConfig) -> LeNet | PairSumNet:
    """The network shaped for *config* (weights freshly initialised)."""
    if config.network == "pairsum":
        return PairSumNet(config.grid)
    return LeNet(config.grid, config.n_outputs, input_scale=config.input_scale,
                 in_channels=descriptor_channels(config.descriptor))
