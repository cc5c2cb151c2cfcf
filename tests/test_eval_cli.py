"""`harness score` and `harness benchmarks`: scoring files without a model, listing data."""

import json

from harness.cli import main


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_score_file_with_gold_answers(tmp_path):
    f = _write(tmp_path / "gen.jsonl", [
        {"answer": "025", "outputs": ["\\boxed{25}", "\\boxed{24}", "no answer"]},
        {"answer": "\\frac{14}{3}", "outputs": ["\\boxed{\\frac{14}{3}}", "\\boxed{14/3}", "\\boxed{4}"]},
        {"answer": "7", "outputs": ["\\boxed{1}", "\\boxed{2}", "\\boxed{3}"]},
    ])
    out = tmp_path / "s.json"
    assert main(["score", str(f), "--k", "1,3", "--json", str(out), "--audit-grader", "boxed_string"]) == 0
    result = json.loads(out.read_text())
    m = result["metrics"]
    assert m["pass@1"] == (1 / 3 + 2 / 3 + 0) / 3
    assert m["pass@3"] == 2 / 3
    assert m["no_answer"] == 1 and m["n"] == 3 and m["num_problems"] == 3
    assert [(s["index"], s["sample"], s["outcome"]) for s in result["samples"][:3]] == [(0, 0, "correct"), (0, 1, "incorrect"), (0, 2, "no_answer")]
    assert result["samples"][0]["extracted"] == "25"
    # the string audit disagrees exactly on \boxed{14/3} (equivalent, written differently)
    assert result["audit"]["disagreements"] == 1


def test_score_with_benchmark_golds_by_id_and_custom_fields(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    _write(data / "amc12.jsonl", [{"id": "A", "problem": "p", "answer": "142"}, {"id": "B", "problem": "q", "answer": "-1"}])
    f = _write(tmp_path / "gen.jsonl", [{"id": "B", "gens": ["\\boxed{-1}"]}, {"id": "A", "gens": ["\\boxed{142}"]}])
    out = tmp_path / "s.json"
    args = ["score", str(f), "--benchmark", "amc12", "--data-dir", str(data), "--outputs-field", "gens", "--json", str(out)]
    assert main(args) == 0
    assert json.loads(out.read_text())["metrics"]["pass@1"] == 1.0


def test_score_user_errors(tmp_path, capsys):
    f = _write(tmp_path / "gen.jsonl", [{"answer": "1", "outputs": ["\\boxed{1}", "x"]}])
    assert main(["score", str(f), "--k", "3"]) == 2
    assert "pass@3" in capsys.readouterr().err
    assert main(["score", str(tmp_path / "missing.jsonl")]) == 2
    g = _write(tmp_path / "g.jsonl", [{"outputs": ["\\boxed{1}"]}])
    assert main(["score", str(g)]) == 2
    assert "'answer'" in capsys.readouterr().err
    (tmp_path / "bad.jsonl").write_text("{not json\n")
    assert main(["score", str(tmp_path / "bad.jsonl")]) == 2


def test_benchmarks_lists_local_counts(tmp_path, capsys, monkeypatch):
    data = tmp_path / "data"
    data.mkdir()
    for name, count in (("aime24", 3), ("aime25", 2), ("amc12", 4), ("math500", 5)):
        _write(data / f"{name}.jsonl", [{"id": str(i), "problem": "p", "answer": str(i)} for i in range(count)])
    monkeypatch.setenv("HARNESS_DATA_DIR", str(data))
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["benchmarks"]) == 0
    text = capsys.readouterr().err
    for name, count in (("aime24", 3), ("aime25", 2), ("amc12", 4), ("math500", 5)):
        assert any(line.split("│")[1].strip() == name and line.split("│")[2].strip() == str(count) for line in text.splitlines() if "│" in line)


def test_offline_hub_benchmark_is_a_one_line_error(monkeypatch, capsys, tmp_path):
    monkeypatch.delenv("HARNESS_DATA_DIR", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    f = _write(tmp_path / "gen.jsonl", [{"outputs": ["\\boxed{1}"]}])
    assert main(["score", str(f), "--benchmark", "aime24"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "HARNESS_DATA_DIR" in err and "--data-dir" in err
