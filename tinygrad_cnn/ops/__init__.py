"""The primitives, one class each: forward and VJP side by side."""
