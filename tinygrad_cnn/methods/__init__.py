"""The Tensor's methods by family, as mixins: each module sits above the primitives (it calls ``ops.X.apply``) and
below ``tensor.Tensor``, which inherits them all. Results are built by the primitives with the class of the tensor
at hand, so a mixin never names the Tensor class."""
