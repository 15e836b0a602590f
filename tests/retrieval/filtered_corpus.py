"""The corpus of the filter tests: 120 documents about bees and 5 about customs forms that match a bee question far
less well, with metadata to filter on (year, topic, office)."""

from __future__ import annotations

from openbook.types import Document

QUESTION = "How do honeybees tell other bees where the flowers are?"
BEES = [
    Document(
        f"bees-{n}",
        f"Honeybees tell other bees where flowers are with a waggle dance; note {n}: foragers fly {n % 7 + 2} km.",
        "Honeybees",
        metadata={"year": 2000 + n % 20, "topic": "bees"},
    )
    for n in range(120)
]
TAX = [
    Document(
        f"tax-{n}",
        f"Customs office {n} lists the forms for importing cut flowers by lorry.",
        "Customs",
        metadata={"year": 2024, "topic": "tax", "office": n},
    )
    for n in range(5)
]
TAX_IDS = {d.id for d in TAX}
