"""The arena's Ray actors. Only ``arena.topology`` creates them and wires them together."""

from arena.actors.contender import ContenderActor
from arena.actors.guardian import RiskGuardianActor
from arena.actors.market import MarketDataActor
from arena.actors.recorder import RecorderActor

__all__ = ["ContenderActor", "MarketDataActor", "RecorderActor", "RiskGuardianActor"]
