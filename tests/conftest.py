"""Test-suite wide configuration.

Hypothesis profiles: pick one with the environment variable ``FIXSIM_HYPOTHESIS_PROFILE``
(``default``, ``ci`` or ``thorough``); without it the ``default`` profile is used.
Deadlines are off everywhere: the first call of a numba kernel pays its compile time.
Under CI (``CI`` set) the examples are derandomized, so a CI run is reproducible; local runs
explore new examples every time.
"""

from __future__ import annotations

import os

from hypothesis import settings

_CI = bool(os.environ.get("CI"))

settings.register_profile("default", max_examples=100, deadline=None, derandomize=_CI)
settings.register_profile("ci", max_examples=200, deadline=None, derandomize=_CI)
settings.register_profile("thorough", max_examples=2000, deadline=None)

settings.load_profile(os.environ.get("FIXSIM_HYPOTHESIS_PROFILE", "default"))
