"""Prove primitives, yours included: ``gradcheck``, ``gradgradcheck`` and hypothesis ``strategies``."""

from . import strategies
from .gradcheck import GradcheckError, gradcheck, gradgradcheck

__all__ = ["GradcheckError", "gradcheck", "gradgradcheck", "strategies"]
