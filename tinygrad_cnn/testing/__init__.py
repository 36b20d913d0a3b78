"""Prove primitives, yours included: ``gradcheck``, ``gradgradcheck``, hypothesis ``strategies``, and the op table
(``OpInfo`` entries turned into a whole pytest battery by ``op_test_suite``)."""

from . import strategies
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .opinfo import BadInput, OpInfo, check_op, op_test_suite
from .sample import Sample

__all__ = ["BadInput", "GradcheckError", "OpInfo", "Sample", "check_op", "gradcheck", "gradgradcheck", "op_test_suite",
           "strategies"]
