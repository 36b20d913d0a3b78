"""Neural-network layers, initialisers and the functional API (F)."""

from . import functional, init
from .layers import AvgPool2d, Conv2d, Dropout, Flatten, Linear, MaxPool2d, ReLU, Sequential, Sigmoid, Tanh
from .module import LoadResult, Module, Parameter

__all__ = [
    "AvgPool2d", "Conv2d", "Dropout", "Flatten", "Linear", "LoadResult", "MaxPool2d", "Module", "Parameter", "ReLU",
    "Sequential", "Sigmoid", "Tanh", "functional", "init",
]
