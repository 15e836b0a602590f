"""Training data: SQuAD examples, wrong-passage negatives, splits and labelled windows (no torch needed)."""

from __future__ import annotations

import json

import pytest

from openbook.errors import OpenbookError
from openbook.training.data import (
    holdout,
    length_batches,
    load_examples,
    paragraph_batches,
    reader_features,
    split_articles,
    write_squad,
    wrong_passage_negatives,
)


def test_labels_point_at_the_answer_words(squad2_file, vocab):
    examples = load_examples(squad2_file)
    assert len(examples) == 60 and sum(e.is_impossible for e in examples) == 10
    features = reader_features(examples, vocab, max_length=32, doc_stride=8)
    assert len(features) > len(examples)  # paragraphs longer than a 32-token window are cut
    answered = 0
    for w, s, e in zip(features.windows, features.starts, features.ends):
        ex = examples[w.query]
        if s == 0:
            assert e == 0
            continue
        answered += 1
        assert not ex.is_impossible
        first, last = w.first + s - w.offset, w.first + e - w.offset
        start, end = w.tokens.span(first, last)
        assert w.tokens.text[start:end] == ex.answer_text
    assert answered >= 50  # every answerable question has a window holding its answer


def test_negatives_lack_the_answer_and_stay_in_their_article(squad_file):
    examples = load_examples(squad_file)
    negatives = wrong_passage_negatives(examples, 0.5, seed=0)
    assert 10 <= len(negatives) <= 40
    by_id = {e.id: e for e in examples}
    for n in negatives:
        source = by_id[n.id.removesuffix("_neg")]
        assert n.is_impossible and n.question == source.question and n.article == source.article
        assert source.answer_text.lower() not in n.context.lower()


def test_splits(squad_file):
    examples = load_examples(squad_file)
    first, second = split_articles(examples, seed=0)
    assert {e.article for e in first}.isdisjoint({e.article for e in second})
    assert len(first) + len(second) == len(examples)
    train, held = holdout(examples, 0.2, seed=0)
    assert len(held) == 10 and len(train) == 40 and not {e.id for e in held} & {e.id for e in train}
    with pytest.raises(OpenbookError):
        holdout(examples, 1.5)


def test_write_squad_round_trips(squad2_file, tmp_path):
    examples = load_examples(squad2_file)
    again = load_examples(write_squad(examples, tmp_path / "copy.json"))
    assert again == examples


def test_batches_cover_every_item_once():
    lengths = [5, 90, 30, 7, 64, 12, 44, 3, 100, 18]
    batches = length_batches(lengths, 3, seed=1)
    assert sorted(i for b in batches for i in b) == list(range(10))
    paragraph_of = [0, 0, 0, 1, 1, 2, 3, 3, 4, 5]
    batches = paragraph_batches(paragraph_of, 4, seed=0)
    assert sorted(i for b in batches for i in b) == list(range(10))
    for b in batches:
        assert len({paragraph_of[i] for i in b}) == len(b)  # one question per paragraph in a batch


def test_bad_files(tmp_path):
    with pytest.raises(OpenbookError, match="not found"):
        load_examples(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"nothing": 1}))
    with pytest.raises(OpenbookError, match="not a SQuAD file"):
        load_examples(bad)
    lines = tmp_path / "own.jsonl"
    lines.write_text('{"question": "q", "answer": "a", "doc_id": "d"}\n')
    with pytest.raises(OpenbookError, match="--index"):
        load_examples(lines)


def test_jsonl_answers_are_found_in_the_indexed_passages(standin_dir, tmp_path):
    from openbook.retrieval.retriever import Retriever
    from openbook.types import Document

    text = "Honeybees dance to show the hive where flowers are. The waggle dance gives the direction of the food."
    Retriever("own", model=standin_dir / "dynamic").add([Document(id="bees", text=text, title="Bees")])
    lines = tmp_path / "own.jsonl"
    rows = [
        {"question": "How do bees show where flowers are?", "answer": "dance", "doc_id": "bees"},
        {"question": "What gives the direction?", "answer": "the Waggle dance", "doc_id": "bees"},
    ]
    lines.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    examples = load_examples(lines, index="own")
    assert [e.answer_text for e in examples] == ["dance", "The waggle dance"]  # as written in the passage
    for e in examples:
        assert e.context[e.answer_start : e.answer_start + len(e.answer_text)] == e.answer_text
    lines.write_text(json.dumps({"question": "q", "answer": "not in there", "doc_id": "bees"}) + "\n")
    with pytest.raises(OpenbookError, match="1 answers not found"):
        load_examples(lines, index="own")


def test_negatives_of_one_passage_documents_come_from_other_documents():
    from openbook.training.data import Example

    examples = [
        Example(f"q{i}", f"what is thing {i}?", f"thing {i} is a word{i}.", f"word{i}", 13, f"doc{i}") for i in range(6)
    ]
    negatives = wrong_passage_negatives(examples, 1.0, seed=0)
    assert len(negatives) == 6
    for n in negatives:
        i = int(n.id[1])
        assert n.context != examples[i].context and f"word{i}" not in n.context
