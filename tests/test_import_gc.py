"""The garbage-collector policy applied at import (tinygrad_cnn/_gc.py): the objects alive after ``import
tinygrad_cnn`` are frozen, garbage waiting at import is collected first, later objects are collected as before,
and TINYGRAD_CNN_GC=default leaves the collector alone. Each case runs in a fresh interpreter, since the policy
acts once per process."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = """
import gc, json, weakref

class Node:
    pass

gc.disable()  # so nothing but the import collects the cycle made here
before = Node()
before.self = before
waiting = weakref.ref(before)
del before
import tinygrad_cnn as tg
waiting_collected = waiting() is None
gc.enable()
after = Node()
after.self = after
later = weakref.ref(after)
del after
tensor_class_tracked = any(o is tg.Tensor for o in gc.get_objects())
gc.collect()
print(json.dumps({"frozen": gc.get_freeze_count(), "tensor_class_tracked": tensor_class_tracked,
                  "waiting_collected": waiting_collected, "later_collected": later() is None}))
"""


def probe(gc_setting: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "TINYGRAD_CNN_GC"}
    if gc_setting is not None:
        env["TINYGRAD_CNN_GC"] = gc_setting
    done = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120,
                          check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("setting", [None, "", "freeze"])
def test_import_freezes_what_is_alive_and_collects_the_rest(setting):
    got = probe(setting)
    assert got["frozen"] > 1000  # the modules, functions and classes of NumPy, the standard library and ours
    assert not got["tensor_class_tracked"]  # in the permanent generation: full collections skip it
    assert got["waiting_collected"]  # a cycle that was garbage at import time is freed, not frozen
    assert got["later_collected"]  # objects made after the import are collected as before


@pytest.mark.parametrize("setting", ["default", "DEFAULT"])
def test_opting_out_leaves_the_collector_alone(setting):
    got = probe(setting)
    assert got["frozen"] == 0 and got["tensor_class_tracked"]
    assert not got["waiting_collected"]  # nor collected: the cycle was still there after the import
    assert got["later_collected"]
