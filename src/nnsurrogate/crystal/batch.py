"""Many crystal graphs in one flat store, and mini-batches cut from it without Python loops over graphs.

A :class:`GraphStore` concatenates the nodes and edges of all graphs (CSR-style offsets), so a batch
of any graphs is gathered with a few vectorised index operations and the networks see one big
disconnected graph (as in CGCNN's collate function): cost linear in the number of atoms and edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nnsurrogate.crystal.graph import CrystalGraph


@dataclass(frozen=True)
class GraphBatch:
    """A disconnected union of graphs, as torch tensors.

    Attributes
    ----------
    nodes : torch.Tensor, shape (n_nodes, n_node_inputs)
        Per-atom inputs of the network.
    center, neighbor : torch.Tensor of int64, shape (n_edges,)
        Node indices of each edge j → i within the batch.
    distance : torch.Tensor, shape (n_edges,)
        Edge lengths, Å.
    graph : torch.Tensor of int64, shape (n_nodes,)
        Which graph (0 … n_graphs − 1) each node belongs to.
    n_graphs : int
    """

    nodes: torch.Tensor
    center: torch.Tensor
    neighbor: torch.Tensor
    distance: torch.Tensor
    graph: torch.Tensor
    n_graphs: int


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of arange(s, s + c) for every (s, c), vectorised."""
    total = int(counts.sum())
    offsets = np.cumsum(counts) - counts
    return np.repeat(starts - offsets, counts) + np.arange(total)


class GraphStore:
    """Graphs with their per-atom network inputs, concatenated.

    Parameters
    ----------
    graphs : list of CrystalGraph
    node_inputs : list of numpy.ndarray, each shape (n_atoms_g, n_node_inputs)
        The network's per-atom inputs for each graph, in atom order.
    """

    def __init__(self, graphs: list[CrystalGraph], node_inputs: list[np.ndarray]) -> None:
        if len(graphs) != len(node_inputs) or not graphs:
            raise ValueError("need one node-input array per graph, and at least one graph")
        n_nodes = np.array([g.n_atoms for g in graphs])
        n_edges = np.array([g.n_edges for g in graphs])
        self.node_ptr = np.concatenate([[0], np.cumsum(n_nodes)])
        self.edge_ptr = np.concatenate([[0], np.cumsum(n_edges)])
        self.nodes = torch.as_tensor(np.vstack(node_inputs), dtype=torch.float32)
        self.center = np.concatenate([g.center for g in graphs])  # local (per-graph) atom indices
        self.neighbor = np.concatenate([g.neighbor for g in graphs])
        self.distance = torch.as_tensor(np.concatenate([g.distance for g in graphs]), dtype=torch.float32)
        self.numbers = np.concatenate([g.numbers for g in graphs])

    def __len__(self) -> int:
        return len(self.node_ptr) - 1

    @property
    def n_atoms(self) -> np.ndarray:
        """Atoms per graph, shape (n_graphs,)."""
        return np.diff(self.node_ptr)

    def batch(self, ids: np.ndarray) -> GraphBatch:
        """The graphs *ids* (shape (B,), any order, repeats allowed) as one :class:`GraphBatch`."""
        ids = np.asarray(ids, dtype=np.int64)
        node_counts = self.node_ptr[ids + 1] - self.node_ptr[ids]
        edge_counts = self.edge_ptr[ids + 1] - self.edge_ptr[ids]
        nodes = _ranges(self.node_ptr[ids], node_counts)
        edges = _ranges(self.edge_ptr[ids], edge_counts)
        shift = np.repeat(np.cumsum(node_counts) - node_counts, edge_counts)
        return GraphBatch(
            nodes=self.nodes[torch.from_numpy(nodes)],
            center=torch.from_numpy(self.center[edges] + shift),
            neighbor=torch.from_numpy(self.neighbor[edges] + shift),
            distance=self.distance[torch.from_numpy(edges)],
            graph=torch.from_numpy(np.repeat(np.arange(len(ids)), node_counts)),
            n_graphs=len(ids),
        )

    def batches(self, ids: np.ndarray, batch_size: int):
        """Consecutive batches of *ids* (in the given order)."""
        for start in range(0, len(ids), batch_size):
            yield self.batch(ids[start : start + batch_size])
