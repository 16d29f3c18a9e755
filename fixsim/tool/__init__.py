"""The fixed-point tool: record signal ranges, propose types (``fixsim.tool``).

Works on any algorithm that names its signals through a :class:`fixsim.TypeTable`: every
named cast is a probe, and ``with record() as rec:`` collects each signal's statistics.

    record, Recording        recording probed signals
    SignalStats              mergeable per-signal statistics
    collect                  record an algorithm over frames/batches (worker processes)
    propose, Proposal        types from recorded, derived or design ranges and a policy
    verify, Verification     fixed against double, per signal
    derive, DerivedRanges    static ranges by interval analysis (Interval: its value domain)
    refine                   propose, derive under the proposal, repeat until the types settle
"""

from __future__ import annotations

from .._core._interval import Interval
from ._collect import collect
from ._derive import DerivedRange, DerivedRanges, derive
from ._propose import Proposal, ProposedType, propose
from ._record import Recording, record
from ._refine import refine
from ._stats import SignalStats
from ._verify import SignalVerification, Verification, verify

__all__ = ["record", "Recording", "SignalStats", "propose", "Proposal", "ProposedType"]
__all__ += ["collect", "verify", "Verification", "SignalVerification"]
__all__ += ["derive", "DerivedRanges", "DerivedRange", "Interval", "refine"]
