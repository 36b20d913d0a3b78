"""The chain rule on the smallest graph: f = (x + y) * z at x = -2, y = 5, z = -4.

With q = x + y:  df/dz = q = 3,  df/dq = z = -4,  and since dq/dx = dq/dy = 1,  df/dx = df/dy = -4.
"""

import tinygrad_cnn as tg

x = tg.Tensor(-2.0, requires_grad=True)
y = tg.Tensor(5.0, requires_grad=True)
z = tg.Tensor(-4.0, requires_grad=True)

q = x + y
q.retain_grad()  # keep the intermediate gradient df/dq to print it
f = q * z
f.backward()

print(f"q = x + y = {q.item():g}")
print(f"f = q * z = {f.item():g}")
print(f"df/dq = z = {q.grad.item():g}")
print(f"df/dx = df/dq * dq/dx = {x.grad.item():g}")
print(f"df/dy = df/dq * dq/dy = {y.grad.item():g}")
print(f"df/dz = q = {z.grad.item():g}")
assert (f.item(), x.grad.item(), y.grad.item(), z.grad.item()) == (-12.0, -4.0, -4.0, 3.0)
