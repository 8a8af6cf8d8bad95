"""The shared pose encoder: ST-GCN (Yan et al., AAAI 2018) as Foley Music uses it.

Spatial partition strategy (3 subsets: the joint itself, neighbours closer to the centre joint,
neighbours further from it), input batch norm over (channels x joints), learnable edge
importance per block, temporal kernel 9, residual blocks; joints are average-pooled and persons
averaged so the output keeps time: memory tokens [B, T', d_model] with T' = T / prod(strides).
"""

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from foley_models.data.layouts import Layout, get_layout


def spatial_partition(layout: Layout, max_hop: int = 1) -> np.ndarray:
    """[3, V, V] normalised adjacency subsets of the spatial strategy."""
    v = layout.joints
    adjacency = np.eye(v) + layout.adjacency()
    # Hop distances up to max_hop (inf beyond), by powers of the adjacency.
    hop = np.full((v, v), np.inf)
    reach = [
        np.linalg.matrix_power(np.eye(v) + layout.adjacency(), d) > 0 for d in range(max_hop + 1)
    ]
    for d in range(max_hop, -1, -1):
        hop[reach[d]] = d
    # normalize_digraph: A D^-1 with D from column sums.
    column = adjacency.sum(axis=0)
    normalised = adjacency / np.where(column > 0, column, 1)[None, :]
    centre = hop[:, layout.center]
    subsets = []
    for d in range(max_hop + 1):
        root = np.zeros((v, v))
        close = np.zeros((v, v))
        further = np.zeros((v, v))
        for i in range(v):
            for j in range(v):
                if hop[j, i] != d:
                    continue
                if centre[j] == centre[i]:
                    root[j, i] = normalised[j, i]
                elif centre[j] > centre[i]:
                    close[j, i] = normalised[j, i]
                else:
                    further[j, i] = normalised[j, i]
        if d == 0:
            subsets.append(root)
        else:
            subsets.append(root + close)
            subsets.append(further)
    return np.stack(subsets).astype(np.float32)


class GraphConv(nn.Module):
    """Conv over joints with K adjacency subsets: [N, C, T, V] -> [N, C', T, V]."""

    def __init__(self, in_channels: int, out_channels: int, k: int) -> None:
        super().__init__()
        self.k = k
        self.conv = nn.Conv2d(in_channels, out_channels * k, kernel_size=1)

    def forward(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        n, _, t, v = x.shape
        x = self.conv(x).view(n, self.k, -1, t, v)  # [N, K, C', T, V]
        return torch.einsum("nkctv,kvw->nctw", x, a)


class STGCNBlock(nn.Module):
    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        k: int,
        stride: int,
        kernel: int,
        dropout: float,
        residual: bool,
    ) -> None:
        super().__init__()
        self.gcn = GraphConv(in_channels, out_channels, k)
        pad = (kernel - 1) // 2
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, (kernel, 1), (stride, 1), (pad, 0)),
            nn.BatchNorm2d(out_channels),
            nn.Dropout(dropout),
        )
        if not residual:
            self.residual = None
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, (stride, 1)), nn.BatchNorm2d(out_channels)
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        res = 0 if self.residual is None else self.residual(x)
        return self.relu(self.tcn(self.gcn(x, a)) + res)


@dataclass(frozen=True)
class PoseEncoderConfig:
    layout: str = "body65"
    channels: tuple[int, ...] = (64, 64, 64, 64, 128, 128, 128, 256, 256, 256)
    strides: tuple[int, ...] = (1, 1, 1, 1, 2, 1, 1, 2, 1, 1)
    temporal_kernel: int = 9
    d_model: int = 512
    dropout: float = 0.0  # after each block's temporal convolution, blocks 2.. only

    @property
    def downsample(self) -> int:
        return int(np.prod(self.strides))


class PoseEncoder(nn.Module):
    """[B, T, C, V, M] pose clips -> [B, T / downsample, d_model] memory tokens."""

    def __init__(self, config: PoseEncoderConfig) -> None:
        super().__init__()
        if len(config.channels) != len(config.strides):
            raise ValueError("channels and strides must have one entry per block")
        self.config = config
        layout = get_layout(config.layout)
        a = torch.from_numpy(spatial_partition(layout))
        self.register_buffer("adjacency", a, persistent=False)
        self.data_bn = nn.BatchNorm1d(layout.channels * layout.joints)
        blocks, c_in = [], layout.channels
        for i, (c_out, stride) in enumerate(zip(config.channels, config.strides, strict=True)):
            blocks.append(
                STGCNBlock(
                    c_in,
                    c_out,
                    a.shape[0],
                    stride,
                    config.temporal_kernel,
                    config.dropout if i > 0 else 0.0,  # as ST-GCN: none in the first block
                    residual=i > 0,
                )
            )
            c_in = c_out
        self.blocks = nn.ModuleList(blocks)
        self.edge_importance = nn.ParameterList([nn.Parameter(torch.ones_like(a)) for _ in blocks])
        self.project = nn.Conv1d(c_in, config.d_model, kernel_size=1)

    def forward(self, pose: torch.Tensor) -> torch.Tensor:
        b, t, c, v, m = pose.shape
        x = pose.permute(0, 4, 3, 2, 1).reshape(b * m, v * c, t)  # [BM, V*C, T]
        x = self.data_bn(x)
        x = x.view(b * m, v, c, t).permute(0, 2, 3, 1)  # [BM, C, T, V]
        for block, importance in zip(self.blocks, self.edge_importance, strict=True):
            x = block(x, self.adjacency * importance)
        x = x.mean(dim=3)  # pool joints: [BM, C, T']
        x = x.view(b, m, x.shape[1], x.shape[2]).mean(dim=1)  # persons: [B, C, T']
        return self.project(x).transpose(1, 2)  # [B, T', d_model]
