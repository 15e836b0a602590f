"""SQuAD files, the official normalisation, exact match and F1, and reader evaluation on a tiny SQuAD file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openbook.errors import OpenbookError
from openbook.evaluation.reader import evaluate_reader
from openbook.reading.reader import Reader
from openbook.evaluation.squad import exact_match, f1, load_squad, normalize_answer
from tests.reader_standins import VOCAB, build_standin


def write_squad(path: Path, paragraphs: list[tuple[str, list[tuple[str, list[str]]]]], version: str = "1.1") -> Path:
    """A SQuAD file of one article; an empty answer list makes an unanswerable (v2.0) question."""
    data = {
        "version": version,
        "data": [
            {
                "title": "Test_article",
                "paragraphs": [
                    {
                        "context": context,
                        "qas": [
                            {
                                "id": f"q{i}-{j}",
                                "question": question,
                                "answers": [{"text": a, "answer_start": context.find(a)} for a in answers],
                                **({"is_impossible": not answers} if version == "v2.0" else {}),
                            }
                            for j, (question, answers) in enumerate(qas)
                        ],
                    }
                    for i, (context, qas) in enumerate(paragraphs)
                ],
            }
        ],
    }
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_normalisation_follows_the_official_script():
    assert normalize_answer("The  Quick, Brown fox!") == "quick brown fox"
    assert normalize_answer("an apple a day") == "apple day"
    assert normalize_answer("Theater in A.D. 1200") == "theater in ad 1200"  # articles only as whole words
    assert normalize_answer("  U.S.\tArmy\n") == "us army"
    assert normalize_answer("‘quoted’") == "‘quoted’"  # only ASCII punctuation is removed, as in the script


def test_exact_match_and_f1_on_known_examples():
    assert exact_match("the Denver Broncos", ["Denver Broncos"]) == 1.0
    assert exact_match("Denver", ["Denver Broncos"]) == 0.0
    assert f1("Denver Broncos won", ["Denver Broncos"]) == pytest.approx(0.8)  # P 2/3, R 1
    assert f1("Denver", ["Denver Broncos", "the Broncos", "Denver"]) == 1.0  # best over gold answers
    assert f1("Santa Clara", ["Levi's Stadium in Santa Clara, California"]) == pytest.approx(0.5)  # P 1, R 2/6
    assert f1("nothing alike", ["Denver Broncos"]) == 0.0
    assert f1("a the", ["Denver"]) == 0.0  # normalises to nothing


def test_unanswerable_questions_need_an_empty_prediction():
    assert exact_match("", []) == 1.0 and f1("", []) == 1.0
    assert exact_match("Denver", []) == 0.0 and f1("Denver", []) == 0.0
    assert exact_match("", ["Denver"]) == 0.0 and f1("", ["Denver"]) == 0.0


def test_load_squad_reads_v1_and_v2_records(tmp_path):
    v1 = load_squad(write_squad(tmp_path / "v1.json", [("Paris is in France.", [("Where is Paris?", ["France"])])]))
    assert len(v1) == 1
    q = v1[0]
    assert (q.id, q.question, q.title) == ("q0-0", "Where is Paris?", "Test_article")
    assert (q.answers, q.answer_starts) == (["France"], [12])
    assert q.context == "Paris is in France." and not q.is_impossible
    v2 = load_squad(write_squad(tmp_path / "v2.json", [("Text.", [("A?", ["Text"]), ("B?", [])])], "v2.0"))
    assert [(q.is_impossible, q.answers) for q in v2] == [(False, ["Text"]), (True, [])]
    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    with pytest.raises(OpenbookError):
        load_squad(tmp_path / "bad.json")
    with pytest.raises(OpenbookError):
        load_squad(tmp_path / "missing.json")


@pytest.mark.skipif(VOCAB is None, reason="no BERT vocab.txt (models/ or ../shared/models/)")
def test_evaluate_reader_scores_a_stand_in(tmp_path):
    boosts = {"violet": (10.0, 0.0), "harbor": (0.0, 10.0), "[CLS]": (7.0, 7.0)}
    paragraphs = [
        ("The violet old harbor stood by the river.", [("Which harbor?", ["violet old harbor"]), ("What?", ["river"])]),
        ("A meadow and a garden lay beyond the stone bridge.", [("Where?", [])]),
    ]
    v1 = evaluate_reader(
        Reader(build_standin(tmp_path / "v1", boosts), precision="f32"),
        write_squad(tmp_path / "v1.json", paragraphs[:1]),
    )
    assert (v1["questions"], v1["exact_match"], v1["f1"]) == (2, 50.0, 50.0)  # the second question gets the harbor
    assert v1["windows"] == 2 and v1["questions_per_second"] > 0 and "no_answer_accuracy" not in v1
    v2_file = write_squad(tmp_path / "v2.json", paragraphs, "v2.0")
    v2_reader = Reader(build_standin(tmp_path / "v2", boosts, squad_version=2), precision="f32")
    v2 = evaluate_reader(v2_reader, v2_file)
    assert v2["questions"] == 3
    assert v2["no_answer_accuracy"] == 100.0 and v2["no_answer_f1"] == 100.0
    assert v2["has_answer_f1"] == 50.0 and v2["no_answer_threshold"] == 0.0
    assert evaluate_reader(v2_reader, v2_file, limit=1)["questions"] == 1
