"""The demo's random streams: one per part and table, named by the seed, so the same seed gives the same district."""

from __future__ import annotations

import random


def stream(seed: int, part: str) -> random.Random:
    """The random stream of one part of the demo; a change in one part's draws leaves the other parts as they were."""
    return random.Random(f"linli-demo:{seed}:{part}")  # noqa: S311 -- reproducible demo data, not secrets
