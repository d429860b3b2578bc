"""Storage: the repository and unit-of-work ports, and the in-memory and SQL adapters."""

from learnprog.storage.memory import InMemoryStore, InMemoryUnitOfWork
from learnprog.storage.ports import UnitOfWork, UnitOfWorkFactory

__all__ = ["InMemoryStore", "InMemoryUnitOfWork", "UnitOfWork", "UnitOfWorkFactory"]
