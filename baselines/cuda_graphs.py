"""A policy's forward passes replayed as CUDA graphs. Served in batches from a GPU, a call is bound
by the CPU launching hundreds of small kernels while the workers keep every core busy stepping and
rendering (results/timing/h200-rt1-serving.md); a captured graph replays a whole pass with one launch."""
from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch

Signature = tuple[tuple[tuple[int, ...], torch.dtype], ...]


@dataclass
class _Capture:
    graph: torch.cuda.CUDAGraph
    inputs: tuple[torch.Tensor, ...]  # the graph reads its inputs from these tensors
    output: torch.Tensor  # and writes its output here, at every replay


class GraphedFunction:
    """`function` of CUDA tensors, captured as one graph per input signature (shapes and dtypes) at
    the first call that has it, then replayed. Each call returns a tensor of its own (the graph's
    output is copied out before the next replay overwrites it). The function must not synchronise
    with the host or change shape with its inputs' values (one that does is called as it is from
    then on, with a warning); batches padded to a few sizes keep the number of graphs small."""

    def __init__(self, function: Callable[..., torch.Tensor], warmup_calls: int = 2) -> None:
        self.function, self.warmup_calls = function, warmup_calls
        self._captures: dict[Signature, _Capture] = {}
        self.eager = False  # set once a capture has failed

    def __call__(self, *inputs: torch.Tensor) -> torch.Tensor:
        if self.eager:
            return self.function(*inputs)
        signature = tuple((tuple(x.shape), x.dtype) for x in inputs)
        capture = self._captures.get(signature)
        if capture is None:
            try:
                capture = self._capture(signature, inputs)
            except RuntimeError as err:  # e.g. a host synchronisation inside the function
                warnings.warn(f"{getattr(self.function, '__qualname__', self.function)} cannot be captured as a "
                              f"CUDA graph ({str(err).splitlines()[0]}); calling it as it is", stacklevel=2)
                self.eager = True
                return self.function(*inputs)
        for static, x in zip(capture.inputs, inputs):
            static.copy_(x)
        capture.graph.replay()
        return capture.output.clone()

    @property
    def captured(self) -> int:
        """How many graphs exist (one per signature met so far)."""
        return len(self._captures)

    def _capture(self, signature: Signature, inputs: tuple[torch.Tensor, ...]) -> _Capture:
        static = tuple(x.clone() for x in inputs)
        # cuDNN and cuBLAS pick their kernels, and the allocator its blocks, in calls outside the
        # capture, on a side stream as capture requires
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(self.warmup_calls):
                self.function(*static)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):  # a private memory pool per graph: no replay overwrites another's output
            output = self.function(*static)
        capture = self._captures[signature] = _Capture(graph, static, output)
        return capture
