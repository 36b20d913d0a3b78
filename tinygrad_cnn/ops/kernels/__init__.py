"""Speed kernels of the convolution, pooling and other primitives: plain NumPy functions, no ``Function`` in them.

The maths (each primitive's forward formula and VJP) lives in ``ops/conv.py`` and ``ops/pool.py``; here are the
tricks that make it fast, each measured in docs/performance.md:

* ``threads``: the thread policy: a pool of our own threads runs the kernels' chunks, BLAS single-threaded;
* ``convolve``: the three convolution kernels, chunk by chunk over the batch on that pool;
* ``columns``: zero padding, the batch-last layout, im2col in the two column layouts and its adjoint col2im;
* ``gemm``: the convolution GEMMs on those columns, thin GEMMs cut into blocks of columns, matmul split by rows;
* ``windows``: pooling offset by offset over strided views of the kernel offsets, chunk by chunk over the batch;
* ``sums``: float32 sums as accurate as a pairwise sum along any axis (every reduction of the ops uses them).
* ``pointwise``: ``maximum`` / ``minimum`` against a scalar on NumPy's SIMD loops (ReLU, hardtanh).

The kernels import only NumPy and each other.
"""
