"""The NEP4 potential as a PyTorch module (Fan et al., Phys. Rev. B 104, 104309 (2021); NEP4:
Song et al., Nat. Commun. 15, 10208 (2024)).

Site energy of atom i of type t (one network per element)::

    U_i = Σ_μ w1[t]_μ tanh(Σ_ν w0[t]_μν q_ν(i) s_ν − b0[t]_μ) − b1,      E = Σ_i U_i

with q the descriptors (:mod:`~nnsurrogate.atomistic.nep.features`) and s the per-component
``q_scaler``. Forces and the virial use the chain rule at the pair level: automatic
differentiation gives ∂E/∂q (radial) and ∂E/∂s_nlm (angular sums) per atom, and
:func:`pair_gradients` contracts them with the stored basis derivatives. The graph stays
differentiable, so force and virial errors can be trained on (``create_graph=True``).
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import torch
from torch import nn

from nnsurrogate.atomistic import keys
from nnsurrogate.atomistic._model_common import (SpecModelFile, featurize_in_groups, frame_types_and_pairs,
                                                 per_type, reference_energy_tuple)
from nnsurrogate.atomistic._model_common import type_indices  # noqa: F401  (public here before)
from nnsurrogate.atomistic.forces import forces_from_pairs, frame_sum, virial_from_pairs
from nnsurrogate.atomistic.models import PotentialModel
from nnsurrogate.atomistic.nep.basis import HIGHER_BODY, five_body, four_body, higher_body, three_body
from nnsurrogate.atomistic.nep.features import collate, frame_features
from nnsurrogate.atomistic.nep.spec import NEPSpec
from nnsurrogate.atomistic.nep.zbl import zbl_terms
from nnsurrogate.atomistic.neighbors import Pairs, atoms_pairs, max_neighbors
from nnsurrogate.core.errors import UserInputError


class NEPModel(SpecModelFile, PotentialModel):
    """NEP potential: descriptor coefficients, one tanh network per element (NEP4; NEP3: one shared by
    all), a shared bias; or a tensorial NEP predicting a dipole or polarizability (:meth:`tensor`).

    Parameters
    ----------
    spec : NEPSpec
        Architecture.
    reference_energies : sequence of float, optional
        Per-element energy (eV) added to every site energy of that element, outside the network
        (default 0). Training fits the network to E − Σ_i e_{t_i}.

    Parameters (torch): ``w0`` (T_n, H, D), ``b0`` (T_n, H), ``w1`` (T_n, H), ``b1`` (), with T_n the
    number of networks (T, or 1 for NEP3), ``c_radial`` (T, T, K_R, N_R) indexed [t_i, t_j, k, n],
    ``c_angular`` (T, T, K_A, N_A); buffer ``q_scaler`` (D,). A polarizability model adds the scalar
    network ``w0_pol``, ``b0_pol``, ``w1_pol``, ``b1_pol`` (same shapes); the flexible ZBL the buffer
    ``zbl_params`` (T(T+1)/2, 10).
    """

    kind = "atomistic.nep"
    spec_class = NEPSpec
    #: The trainer sets the shared bias b1 in closed form (see :meth:`parameter_groups`).
    bias_by_shift = True

    def __init__(self, spec: NEPSpec, reference_energies=None) -> None:
        super().__init__()
        t, h, d = spec.n_types, spec.neurons, spec.n_descriptors
        (kr, ka), nr, na = spec.n_basis, spec.n_radial, spec.n_angular
        self.spec = spec
        self.reference_energies = reference_energy_tuple(reference_energies, t)
        nets = spec.n_networks
        for suffix in ("", "_pol") if spec.model_type == "polarizability" else ("",):
            setattr(self, "w0" + suffix, nn.Parameter(torch.zeros(nets, h, d, dtype=torch.float64)))
            setattr(self, "b0" + suffix, nn.Parameter(torch.zeros(nets, h, dtype=torch.float64)))
            setattr(self, "w1" + suffix, nn.Parameter(torch.zeros(nets, h, dtype=torch.float64)))
            setattr(self, "b1" + suffix, nn.Parameter(torch.zeros((), dtype=torch.float64)))
        self.c_radial = nn.Parameter(torch.zeros(t, t, kr, nr, dtype=torch.float64))
        self.c_angular = nn.Parameter(torch.zeros(t, t, ka, na, dtype=torch.float64))
        self.register_buffer("q_scaler", torch.ones(d, dtype=torch.float64))
        if spec.charge_mode:  # qNEP: each network's charge output; √ε∞ scales GPUMD's Born effective charges
            self.w1_charge = nn.Parameter(torch.zeros(nets, h, dtype=torch.float64))
            self.sqrt_epsilon_inf = nn.Parameter(torch.ones((), dtype=torch.float64))
        if spec.zbl_flexible:
            self.register_buffer("zbl_params", torch.zeros(spec.n_zbl_parameters // 10, 10, dtype=torch.float64))
        else:
            self.zbl_params = None

    # ----------------------------------------------------------------------------- interface
    @property
    def species(self) -> tuple[str, ...]:
        return self.spec.species

    @property
    def cutoff(self) -> float:
        """Neighbour-list cutoff the model needs, Å."""
        return max(self.spec.cutoff)

    @property
    def model_type(self) -> str:
        return self.spec.model_type

    @property
    def charge_mode(self) -> int:
        return self.spec.charge_mode

    def featurize(self, frames, dtype: torch.dtype = torch.float32, widths=None, where: str = "") -> list[dict]:
        """Per-frame geometry (see :func:`featurize`)."""
        return featurize(self, frames, dtype, widths, where)

    def pair_features(self, types: np.ndarray, pairs: Pairs, dtype: torch.dtype = torch.float64) -> dict:
        """Geometry of one structure given its type indices (n_atoms,) and full neighbour list
        (see :func:`~nnsurrogate.atomistic.nep.features.frame_features`); the calculator's
        parallel evaluation calls it on blocks of centre atoms
        (:func:`~nnsurrogate.atomistic.neighbors.centre_block`)."""
        return frame_features(self.spec, types, pairs, dtype)

    def neighbor_widths(self, frames) -> tuple[int, int]:
        """Radial / angular neighbour slots that fit every atom of *frames*."""
        return neighbor_counts(self.spec, frames)

    @staticmethod
    def collate(frames: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
        """Concatenate featurized frames into a batch."""
        return collate(frames)

    def initialize(self, batch: dict[str, torch.Tensor], target_energy_per_atom: float) -> None:
        """Data-dependent initialisation (see :func:`initialize_from_data`)."""
        initialize_from_data(self, batch, target_energy_per_atom)

    def set_max_neighbors(self, widths: tuple[int, int]) -> None:
        """Record the training data's neighbour counts (written to ``nep.txt``)."""
        self.spec = replace(self.spec, max_neighbors=(int(widths[0]), int(widths[1])))

    def parameter_groups(self, lr: float, output_scale: float = 1.0) -> list[dict]:
        """Adam groups: descriptor coefficients and hidden layer at *lr*, the output weights w1 at
        ``lr·output_scale``. The bias b1 is left out: after every step the trainer removes the
        batch's mean energy error per atom through it (:meth:`shift_energy`)."""
        groups = [{"params": [p for p in (self.c_radial, self.c_angular, self.w0, self.b0) if p.requires_grad],
                   "lr": lr},
                  {"params": [self.w1] if self.w1.requires_grad else [], "lr": lr * output_scale}]
        return [g for g in groups if g["params"]]

    #: What :meth:`freeze` can hold fixed during training (fine-tuning).
    PARTS = {"descriptors": ("c_radial", "c_angular"), "networks": ("w0", "b0", "w1")}
    #: The networks' parameters, in ``nep.txt`` order (a polarizability model's second network: ``*_pol``).
    NETWORK = ("w0", "b0", "w1", "b1")

    def network_names(self) -> tuple[str, ...]:
        """Every network parameter's name (both networks of a polarizability model; a qNEP's charge output)."""
        suffixes = ("", "_pol") if self.spec.model_type == "polarizability" else ("",)
        extra = ("w1_charge", "sqrt_epsilon_inf") if self.spec.charge_mode else ()
        return tuple(n + s for s in suffixes for n in self.NETWORK) + extra

    def freeze(self, parts) -> None:
        """Hold the parameters of *parts* (``"descriptors"``: the descriptor coefficients,
        ``"networks"``: the elements' networks) fixed in training."""
        for part in parts:
            if part not in self.PARTS:
                raise UserInputError(f"cannot freeze '{part}' (choose {', '.join(self.PARTS)})", "freeze")
            for name in self.PARTS[part]:
                getattr(self, name).requires_grad_(False)

    def slimmed(self, keep) -> "NEPModel":
        """The same potential for the elements *keep* only (element slimming): their networks and the
        descriptor coefficients of their pairs, in this model's order. Exact on structures made of
        those elements (a descriptor only sums over pairs of present elements)."""
        missing = sorted(set(keep) - set(self.species))
        if missing:
            raise UserInputError(f"element {', '.join(missing)} is not in the model", "slim")
        idx = [k for k, s in enumerate(self.species) if s in set(keep)]
        cuts = tuple(self.spec.type_cutoffs[k] for k in idx) if self.spec.type_cutoffs else None
        spec = replace(self.spec, species=tuple(self.species[k] for k in idx), type_cutoffs=cuts)
        out = NEPModel(spec, [self.reference_energies[k] for k in idx])
        index = torch.as_tensor(idx)
        nets = index if self.spec.n_networks > 1 else torch.zeros(1, dtype=torch.long)
        with torch.no_grad():
            for name in self.network_names():
                source = getattr(self, name)
                getattr(out, name).copy_(source if source.dim() == 0 else source[nets])
            out.c_radial.copy_(self.c_radial[index][:, index])
            out.c_angular.copy_(self.c_angular[index][:, index])
            out.q_scaler.copy_(self.q_scaler)
            if self.zbl_params is not None:
                rows, cols = torch.triu_indices(len(idx), len(idx))
                pair = _pair_index(index[rows], index[cols], self.spec.n_types)
                out.zbl_params.copy_(self.zbl_params[pair])
        return out.to(dtype=self.b1.dtype)

    @torch.no_grad()
    def shift_energy(self, delta: float) -> None:
        """Add *delta* (eV) to every site energy (through the shared bias b1)."""
        self.b1.sub_(delta)

    def reset_parameters(self, generator: torch.Generator | None = None) -> None:
        """Random start: c ~ U(−1, 1), w0 ~ N(0, 1/D), w1 ~ N(0, 1/H)·0.1, biases 0."""
        with torch.no_grad():
            for p in (self.c_radial, self.c_angular):
                p.copy_(torch.rand(p.shape, generator=generator, dtype=torch.float64) * 2.0 - 1.0)
            d, h = self.spec.n_descriptors, self.spec.neurons
            self.w0.copy_(torch.randn(self.w0.shape, generator=generator, dtype=torch.float64) / math.sqrt(d))
            self.w1.copy_(torch.randn(self.w1.shape, generator=generator, dtype=torch.float64) * 0.1 / math.sqrt(h))
            self.b0.zero_()
            self.b1.zero_()

    # ----------------------------------------------------------------------------- evaluation
    def descriptors(self, batch: dict[str, torch.Tensor]):
        """Unscaled descriptors and intermediates.

        Returns
        -------
        q_r : (A, N_R) radial descriptors;  s : (A, LM, N_A) angular sums s_nlm;
        c_r : (A, T·K_R, N_R) and c_a : (A, T·K_A, N_A) the coefficients of each atom's type.
        """
        t = batch[keys.TYPES]
        nt = self.spec.n_types
        c_r = self.c_radial.reshape(nt, -1, self.spec.n_radial)[t]
        c_a = self.c_angular.reshape(nt, -1, self.spec.n_angular)[t]
        q_r = torch.bmm(batch[keys.FSUM].unsqueeze(1), c_r).squeeze(1)
        s = torch.bmm(batch[keys.PHI], c_a)
        return q_r, s, c_r, c_a

    def angular_invariants(self, s: torch.Tensor) -> torch.Tensor:
        """(A, LM, N_A) sums → (A, N_A · n_lterms) descriptors, ordered l-major as in GPUMD."""
        st = s.transpose(1, 2)
        parts = [three_body(st, self.spec.l_max[0])]
        if self.spec.l_max[1]:
            parts.append(four_body(st).unsqueeze(-1))
        if self.spec.l_max[2]:
            parts.append(five_body(st).unsqueeze(-1))
        parts += [higher_body(st, ls).unsqueeze(-1) for on, ls in zip(self.spec.higher_body, HIGHER_BODY) if on]
        q = torch.cat(parts, dim=-1)
        return q.transpose(1, 2).reshape(s.shape[0], -1)

    def full_descriptors(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Unscaled descriptors q (A, D) in GPUMD's order (radial n, then angular by l and n)."""
        q_r, s, _, _ = self.descriptors(batch)
        return torch.cat([q_r, self.angular_invariants(s)], dim=1)

    def site_energies(self, q_scaled: torch.Tensor, types: torch.Tensor, suffix: str = "") -> torch.Tensor:
        """U_i (A,) from scaled descriptors (A, D): each atom through its element's network (NEP3: the
        shared one); *suffix* ``"_pol"``: a polarizability model's scalar network."""
        w0, b0, w1, b1 = (getattr(self, n + suffix) for n in self.NETWORK)
        return self.network_outputs(q_scaled, types, w0, b0, w1.unsqueeze(-1))[:, 0] - b1

    def network_outputs(self, q_scaled: torch.Tensor, types: torch.Tensor, w0: torch.Tensor, b0: torch.Tensor,
                        w1: torch.Tensor) -> torch.Tensor:
        """Σ_μ w1[t]_μk tanh(Σ_ν w0[t]_μν q_ν − b0[t]_μ) of each atom's network t, shape (A, K), without a
        bias; *w1* (T_n, H, K) holds K outputs on one hidden layer (a qNEP: the energy and the charge)."""

        def network(rows: torch.Tensor, t: int) -> torch.Tensor:
            return torch.tanh(rows @ w0[t].T - b0[t]) @ w1[t]

        if self.spec.n_networks == 1:
            return network(q_scaled, 0)
        return per_type(q_scaled, types, self.spec.n_types, network)

    def forward(self, batch: dict[str, torch.Tensor], forces: bool = True, virial: bool = False,
                create_graph: bool = False) -> dict[str, torch.Tensor]:
        """Energies (without the reference energies), forces and virials of a collated batch.

        Parameters
        ----------
        batch : dict
            From :func:`~nnsurrogate.atomistic.nep.features.collate`.
        forces, virial : bool
            What to compute besides the energies.
        create_graph : bool
            Keep the graph of the forces / virial (needed to train on them).

        Returns
        -------
        dict with ``energies`` (A,) eV, ``energy`` (F,) eV, and if asked ``forces`` (A, 3) eV/Å,
        ``virial`` (F, 3, 3) eV.
        """
        n_frames = int(batch[keys.N_ATOMS].shape[0])
        with torch.enable_grad():
            q_r, s, c_r, c_a = self.descriptors(batch)
            if (forces or virial) and not q_r.requires_grad:  # frozen parameters
                q_r, s = q_r.detach().requires_grad_(), s.detach().requires_grad_()
            q = torch.cat([q_r, self.angular_invariants(s)], dim=1)
            if self.spec.charge_mode:  # energy and charge from one hidden layer
                both = self.network_outputs(q * self.q_scaler, batch[keys.TYPES], self.w0, self.b0,
                                            torch.stack([self.w1, self.w1_charge], -1))
                coulomb = self._coulomb(batch, both[:, 1], n_frames)
                energies = both[:, 0] - self.b1 + coulomb["energies"]
            else:
                energies, coulomb = self.site_energies(q * self.q_scaler, batch[keys.TYPES]), None
            total, G_zbl = energies, None
            if self.spec.zbl is not None:
                e_zbl, G_zbl = zbl_terms(batch, self.spec, self.zbl_params)
                total = energies + e_zbl
            out = {keys.ENERGIES: total, keys.ENERGY: frame_sum(total, batch[keys.FRAME], n_frames)}
            if not (forces or virial):
                return out
            leaves = [q_r, s] + (coulomb["leaves"] if coulomb is not None else [])
            grads = torch.autograd.grad(energies.sum(), leaves, create_graph=create_graph, allow_unused=True)
        G_r, G_a = pair_gradients(batch, c_r, c_a, grads[0], grads[1])
        if G_zbl is not None:
            G_r = G_r + G_zbl
        explicit = dict(zip(("r_vec", "positions"), grads[2:]))  # the charges' energy's own position dependence
        if explicit.get("r_vec") is not None:
            G_r = G_r + explicit["r_vec"]
        if coulomb is not None:
            out[keys.CHARGES] = coulomb["charges"].detach()
        if forces:
            out[keys.FORCES] = forces_from_pairs([(G_r, batch[keys.R_J]), (G_a, batch[keys.A_J])], energies.shape[0])
            if explicit.get("positions") is not None:
                out[keys.FORCES] = out[keys.FORCES] - explicit["positions"]
        if virial:
            out[keys.VIRIAL] = virial_from_pairs([(G_r, batch[keys.R_VEC]), (G_a, batch[keys.A_VEC])], batch[keys.FRAME], n_frames)
            if coulomb is not None:
                out[keys.VIRIAL] = out[keys.VIRIAL] + coulomb["virial"]
        return out

    def _coulomb(self, batch: dict[str, torch.Tensor], raw: torch.Tensor, n_frames: int) -> dict:
        """A qNEP's charges (A,) e from its networks' charge outputs *raw* (A,) and their electrostatic
        site energies (A,) eV (:mod:`~nnsurrogate.atomistic.nep.charge`), with ``leaves``: the pair
        vectors and (if the batch has them) the positions they were computed from, to differentiate."""
        from nnsurrogate.atomistic.nep.charge import coulomb_terms, neutral

        charges = neutral(raw, batch[keys.FRAME], n_frames, batch[keys.N_ATOMS], hold_mean=self.spec.charge_mode == 3)
        r_vec = batch[keys.R_VEC].detach().clone().requires_grad_()
        positions = batch[keys.ATOM_POSITIONS].detach().clone().requires_grad_() \
            if keys.ATOM_POSITIONS in batch else None
        energies, virial = coulomb_terms(batch, charges, self.spec.charge_mode, self.spec.cutoff[0], r_vec, positions)
        return {"energies": energies, "charges": charges, "virial": virial,
                "leaves": [r_vec] + ([positions] if positions is not None else [])}

    def tensor(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The dipole (F, 3) or polarizability (F, 3, 3) of each frame of a tensorial NEP, as GPUMD
        defines them (Xu et al., J. Chem. Theory Comput. 20, 3273 (2024)).

        With U_i the network output of atom i and G_p = ∂(Σ_i U_i)/∂r_p over the pair vectors
        r_p = r_j − r_i of atom i's neighbours::

            dipole          μ = −Σ_p |r_p|² G_p
            polarizability  α = Σ_i U'_i · I − Σ_p r_p ⊗ G_p   (U' the second, scalar network)

        Units are those of the training targets (GPUMD: e·Å and Å³ per the data set).
        """
        kind = self.spec.model_type
        if kind == "potential":
            raise UserInputError("this NEP predicts energies and forces, not a dipole or polarizability", "model")
        n_frames = int(batch[keys.N_ATOMS].shape[0])
        with torch.enable_grad():
            q_r, s, c_r, c_a = self.descriptors(batch)
            if not q_r.requires_grad:
                q_r, s = q_r.detach().requires_grad_(), s.detach().requires_grad_()
            q = torch.cat([q_r, self.angular_invariants(s)], dim=1) * self.q_scaler
            outputs = self.site_energies(q, batch[keys.TYPES])
            g_r, g_s = torch.autograd.grad(outputs.sum(), (q_r, s))
        G_r, G_a = pair_gradients(batch, c_r, c_a, g_r, g_s)
        slots = [(G_r, batch[keys.R_VEC]), (G_a, batch[keys.A_VEC])]
        if kind == "dipole":
            per_atom = -sum(((r * r).sum(-1, keepdim=True) * G).sum(1) for G, r in slots)
            return frame_sum(per_atom, batch[keys.FRAME], n_frames)
        scalar = frame_sum(self.site_energies(q.detach(), batch[keys.TYPES], "_pol"), batch[keys.FRAME], n_frames)
        eye = torch.eye(3, dtype=scalar.dtype, device=scalar.device)
        return scalar[:, None, None] * eye + virial_from_pairs(slots, batch[keys.FRAME], n_frames)


def _pair_index(t1: torch.Tensor, t2: torch.Tensor, n_types: int) -> torch.Tensor:
    """Row of the unordered type pair (t1, t2) in GPUMD's upper-triangle order of the flexible ZBL."""
    a, b = torch.minimum(t1, t2), torch.maximum(t1, t2)
    return a * n_types - (a * (a - 1)) // 2 + (b - a)


def pair_gradients(batch: dict[str, torch.Tensor], c_r: torch.Tensor, c_a: torch.Tensor, g_r: torch.Tensor,
                   g_s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """G_p = ∂E/∂r_p for the radial and angular neighbour slots, shapes (A, M_R, 3) and (A, M_A, 3).

    With h = ∂E/∂Fsum = c_r·g_r and H = ∂E/∂Φ = c_a·g_sᵀ (per atom)::

        G_p(radial)  = r̂_p Σ_tk h_tk f'_tk(r_p)
        G_p(angular) = r̂_p Σ_lm Y_lm Σ_tk H_tk,lm f'_tk + Σ_lm ∇Y_lm Σ_tk H_tk,lm f_tk

    with ∇Y_lm = (I − r̂r̂ᵀ) ∂Y_lm/∂û / r, the projection applied once to Σ_lm u_lm ∂Y_lm/∂û.
    """
    h = torch.bmm(c_r, g_r.unsqueeze(-1))  # (A, T·K_R, 1)
    H = torch.bmm(c_a, g_s.transpose(1, 2))  # (A, T·K_A, LM)
    beta = torch.bmm(batch[keys.R_DF], h)  # (A, M_R, 1)
    G_r = beta * batch[keys.R_HAT]
    hat = batch[keys.A_HAT]
    u = torch.bmm(batch[keys.A_F], H)  # (A, M_A, LM)
    v = torch.bmm(batch[keys.A_DF], H)
    w = torch.einsum("aml,amlx->amx", u, batch[keys.A_DY])  # Σ_lm u_lm ∂Y_lm/∂û
    tangential = (w - (w * hat).sum(-1, keepdim=True) * hat) * batch[keys.A_RINV].unsqueeze(-1)
    G_a = (v * batch[keys.A_Y]).sum(-1, keepdim=True) * hat + tangential
    return G_r, G_a


# --------------------------------------------------------------------------------- data plumbing
def featurize(model: NEPModel, frames, dtype: torch.dtype = torch.float32,
              widths: tuple[int, int] | None = None, where: str = "",
              chunk_atoms: int = 20000) -> list[dict[str, torch.Tensor]]:
    """Geometry features of each frame, padded to common neighbour-slot widths.

    Frames are processed in groups of about *chunk_atoms* atoms: their neighbour lists are joined
    (atom indices offset) so the basis functions and harmonics are evaluated in one vectorised
    call, and the result is split back into frames.

    Parameters
    ----------
    model : NEPModel
    frames : sequence of ase.Atoms
    dtype : torch.dtype
        Storage type of the float features.
    widths : (int, int), optional
        Radial / angular slots per atom; default: the largest counts among *frames*.
    where : str
        Prefix for error messages (e.g. the file name).
    """
    spec = model.spec
    types, pairs = frame_types_and_pairs(spec.species, frames, max(spec.cutoff), where)
    if widths is None:
        widths = neighbor_counts(spec, frames, pairs)

    def features(joined_types: np.ndarray, joined_pairs: Pairs) -> dict[str, torch.Tensor]:
        return frame_features(spec, joined_types, joined_pairs, dtype, widths)

    out = featurize_in_groups(types, pairs, features, (keys.R_J, keys.A_J), chunk_atoms)
    if spec.charge_mode:  # the Ewald sum needs the positions and the cell
        for feats, atoms in zip(out, frames):
            feats[keys.ATOM_POSITIONS] = torch.as_tensor(atoms.positions, dtype=dtype)
            cell = atoms.cell.array if atoms.pbc.all() else np.zeros((3, 3))
            feats[keys.FRAME_CELL] = torch.as_tensor(cell, dtype=dtype).unsqueeze(0)
    return out


def neighbor_counts(spec: NEPSpec, frames, pairs=None) -> tuple[int, int]:
    """Largest radial and angular neighbour counts of any atom in *frames*."""
    if pairs is None:
        pairs = [atoms_pairs(a, max(spec.cutoff)) for a in frames]
    radial = angular = 1
    for a, p in zip(frames, pairs):
        radial = max(radial, max_neighbors(p, len(a), spec.cutoff[0]))
        angular = max(angular, max_neighbors(p, len(a), spec.cutoff[1]))
    return radial, angular


@torch.no_grad()
def initialize_from_data(model: NEPModel, batch: dict[str, torch.Tensor], target_energy_per_atom: float) -> None:
    """Data-dependent start: q_scaler = 1/(max q − min q) over *batch* (as GPUMD), each hidden
    neuron's threshold b0 centred on its mean input, b1 = −(mean target energy per atom)."""
    q = model.full_descriptors(batch).double()
    span = q.max(0).values - q.min(0).values
    model.q_scaler.copy_(torch.where(span > 1e-12, 1.0 / span.clamp_min(1e-12), torch.ones_like(span)))
    scaled = q * model.q_scaler.double()
    for t in range(model.spec.n_networks):  # NEP3: one network sees every atom
        rows = scaled[batch[keys.TYPES] == t] if model.spec.n_networks > 1 else scaled
        if rows.shape[0]:
            model.b0[t].copy_(model.w0[t].double() @ rows.mean(0))
    model.b1.fill_(-float(target_energy_per_atom))
