"""Every implementation of the index seams runs the one contract suite in ``tests/index/contract.py``."""

from __future__ import annotations

import pytest

from openbook.index.memory import MemoryStore, MemoryVectors
from openbook.index.store import PassageStore
from openbook.index.vectors import VectorIndex
from tests.index.contract import LexicalContract, StoreContract, VectorContract, fill


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path):
        store = PassageStore(tmp_path / "store.sqlite")
        yield store
        store.close()


class TestMemoryStore(StoreContract):
    @pytest.fixture
    def store(self):
        return MemoryStore()


class TestFts5(LexicalContract):
    @pytest.fixture
    def indexed(self, tmp_path):
        store = PassageStore(tmp_path / "store.sqlite")
        fill(store)
        yield store, store.lexical
        store.close()


class TestMemoryLexical(LexicalContract):
    @pytest.fixture
    def indexed(self):
        store = MemoryStore()
        fill(store)
        return store, store.lexical


class TestFaissFlat(VectorContract):
    @pytest.fixture
    def make(self):
        def build(ids, x):
            index = VectorIndex.empty("flat", x.shape[1], "ip")
            index.add(ids, x)
            return index

        return build


class TestFaissIvf(VectorContract):
    exact = False

    @pytest.fixture
    def make(self):
        def build(ids, x):
            index = VectorIndex.empty("ivf", x.shape[1], "ip", x, nlist=16)
            index.add(ids, x)
            return index

        return build


class TestFaissFactoryString(VectorContract):
    exact = False

    @pytest.fixture
    def make(self):
        def build(ids, x):
            index = VectorIndex.empty("IVF8,Flat", x.shape[1], "ip", x)
            index.add(ids, x)
            return index

        return build


class TestMemoryVectors(VectorContract):
    @pytest.fixture
    def make(self):
        def build(ids, x):
            index = MemoryVectors(x.shape[1], "ip")
            index.add(ids, x)
            return index

        return build
