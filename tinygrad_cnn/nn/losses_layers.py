"""The loss modules: PyTorch's constructor arguments (without the legacy size_average/reduce), each a thin module
over its ``F.`` function. A class weight or pos_weight is kept as given (a Tensor attribute, not a Parameter)."""

from __future__ import annotations

from typing import Any

from .._checks import as_bool, as_choice, as_int, as_real
from ..tensor_class import Tensor
from . import functional as F
from .module import Module

_REDUCTIONS = ("mean", "sum", "none")


class _Loss(Module):
    """A loss with a ``reduction`` ('mean', 'sum' or 'none'), checked when the module is made."""

    def __init__(self, reduction: str = "mean", choices: tuple[str, ...] = _REDUCTIONS) -> None:
        super().__init__()
        self.reduction = as_choice(type(self).__name__, "reduction", reduction, choices)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class _WeightedLoss(_Loss):
    def __init__(self, weight: Any = None, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.weight = weight if weight is None or isinstance(weight, Tensor) else Tensor(weight)


class NLLLoss(_WeightedLoss):
    """``F.nll_loss``: log-probabilities (N, C, ...) and class indices, with a class ``weight`` and ``ignore_index``."""

    def __init__(self, weight: Any = None, *, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__(weight, reduction)
        self.ignore_index = as_int("NLLLoss", "ignore_index", ignore_index)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.nll_loss(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction)


class CrossEntropyLoss(_WeightedLoss):
    """``F.cross_entropy``: logits (N, C, ...) and class indices or probabilities, with a class ``weight``,
    ``ignore_index`` and ``label_smoothing``."""

    def __init__(self, weight: Any = None, *, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0) -> None:
        super().__init__(weight, reduction)
        self.ignore_index = as_int("CrossEntropyLoss", "ignore_index", ignore_index)
        self.label_smoothing = as_real("CrossEntropyLoss", "label_smoothing", label_smoothing, low=0, high=1)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction,
                               label_smoothing=self.label_smoothing)


class BCELoss(_WeightedLoss):
    """``F.binary_cross_entropy``: probabilities and labels of one shape, an optional elementwise ``weight``."""

    def __init__(self, weight: Any = None, *, reduction: str = "mean") -> None:
        super().__init__(weight, reduction)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_WeightedLoss):
    """``F.binary_cross_entropy_with_logits``: logits and labels, an optional ``weight`` and ``pos_weight``."""

    def __init__(self, weight: Any = None, *, reduction: str = "mean", pos_weight: Any = None) -> None:
        super().__init__(weight, reduction)
        self.pos_weight = pos_weight if pos_weight is None or isinstance(pos_weight, Tensor) else Tensor(pos_weight)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, self.weight, reduction=self.reduction,
                                                  pos_weight=self.pos_weight)


class MSELoss(_Loss):
    """``F.mse_loss``: (input - target)^2, reduced."""

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__(reduction)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """``F.l1_loss``: |input - target|, reduced."""

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__(reduction)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.l1_loss(input, target, reduction=self.reduction)


class SmoothL1Loss(_Loss):
    """``F.smooth_l1_loss`` with threshold ``beta``."""

    def __init__(self, *, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__(reduction)
        self.beta = as_real("SmoothL1Loss", "beta", beta, low=0)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.smooth_l1_loss(input, target, reduction=self.reduction, beta=self.beta)


class HuberLoss(_Loss):
    """``F.huber_loss`` with threshold ``delta``."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = as_real("HuberLoss", "delta", delta)
        if not self.delta > 0:
            raise ValueError(f"HuberLoss: delta must be positive, got {self.delta}")

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.huber_loss(input, target, reduction=self.reduction, delta=self.delta)


class KLDivLoss(_Loss):
    """``F.kl_div``: input log-probabilities, target probabilities (or log-probabilities with ``log_target``)."""

    def __init__(self, *, reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__(reduction, ("mean", "batchmean", "sum", "none"))
        self.log_target = as_bool("KLDivLoss", "log_target", log_target)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.kl_div(input, target, reduction=self.reduction, log_target=self.log_target)


class PoissonNLLLoss(_Loss):
    """``F.poisson_nll_loss`` with ``log_input``, ``full`` and ``eps``."""

    def __init__(self, log_input: bool = True, full: bool = False, *, eps: float = 1e-8,
                 reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.log_input = as_bool("PoissonNLLLoss", "log_input", log_input)
        self.full = as_bool("PoissonNLLLoss", "full", full)
        self.eps = as_real("PoissonNLLLoss", "eps", eps, low=0)

    def forward(self, log_input: Tensor, target: Any) -> Tensor:
        return F.poisson_nll_loss(log_input, target, self.log_input, self.full, eps=self.eps,
                                  reduction=self.reduction)


class GaussianNLLLoss(_Loss):
    """``F.gaussian_nll_loss`` with ``full`` and ``eps``; called as ``loss(input, target, var)``."""

    def __init__(self, *, full: bool = False, eps: float = 1e-6, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.full = as_bool("GaussianNLLLoss", "full", full)
        self.eps = as_real("GaussianNLLLoss", "eps", eps, low=0)

    def forward(self, input: Tensor, target: Any, var: Any) -> Tensor:
        return F.gaussian_nll_loss(input, target, var, self.full, self.eps, reduction=self.reduction)


class MarginRankingLoss(_Loss):
    """``F.margin_ranking_loss``: max(0, -y (x1 - x2) + margin)."""

    def __init__(self, margin: float = 0.0, *, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = as_real("MarginRankingLoss", "margin", margin)

    def forward(self, input1: Tensor, input2: Tensor, target: Any) -> Tensor:
        return F.margin_ranking_loss(input1, input2, target, self.margin, reduction=self.reduction)


class HingeEmbeddingLoss(_Loss):
    """``F.hinge_embedding_loss``: x where y = 1, max(0, margin - x) where y = -1."""

    def __init__(self, margin: float = 1.0, *, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = as_real("HingeEmbeddingLoss", "margin", margin)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.hinge_embedding_loss(input, target, self.margin, reduction=self.reduction)


class SoftMarginLoss(_Loss):
    """``F.soft_margin_loss``: log(1 + exp(-y x))."""

    def __init__(self, *, reduction: str = "mean") -> None:
        super().__init__(reduction)

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.soft_margin_loss(input, target, reduction=self.reduction)


class CosineEmbeddingLoss(_Loss):
    """``F.cosine_embedding_loss``: 1 - cos where y = 1, max(0, cos - margin) where y = -1."""

    def __init__(self, margin: float = 0.0, *, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = as_real("CosineEmbeddingLoss", "margin", margin)

    def forward(self, input1: Tensor, input2: Tensor, target: Any) -> Tensor:
        return F.cosine_embedding_loss(input1, input2, target, self.margin, reduction=self.reduction)


class TripletMarginLoss(_Loss):
    """``F.triplet_margin_loss`` with ``margin``, ``p``, ``eps`` and ``swap``."""

    def __init__(self, margin: float = 1.0, p: float = 2.0, eps: float = 1e-6, swap: bool = False, *,
                 reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.margin = as_real("TripletMarginLoss", "margin", margin)
        self.p = as_real("TripletMarginLoss", "p", p)
        self.eps = as_real("TripletMarginLoss", "eps", eps)
        self.swap = as_bool("TripletMarginLoss", "swap", swap)

    def forward(self, anchor: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        return F.triplet_margin_loss(anchor, positive, negative, self.margin, self.p, self.eps, self.swap,
                                     reduction=self.reduction)


class CosineSimilarity(Module):
    """``F.cosine_similarity`` along ``dim`` with ``eps``."""

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim = as_int("CosineSimilarity", "dim", dim)
        self.eps = as_real("CosineSimilarity", "eps", eps, low=0)

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, eps={self.eps}"


class PairwiseDistance(Module):
    """``F.pairwise_distance`` with ``p``, ``eps`` and ``keepdim``."""

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm = as_real("PairwiseDistance", "p", p)
        self.eps = as_real("PairwiseDistance", "eps", eps)
        self.keepdim = as_bool("PairwiseDistance", "keepdim", keepdim)

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)

    def extra_repr(self) -> str:
        return f"p={self.norm}, eps={self.eps}, keepdim={self.keepdim}"
