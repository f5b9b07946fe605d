from conftest import DEFAULT_DIR

from w2v_cli import synthetic


def test_generator_is_deterministic_and_matches_the_committed_corpus():
    text = synthetic.generate()
    assert text == synthetic.generate()
    assert (DEFAULT_DIR / "default.txt").read_text(encoding="utf-8") == text
    assert (DEFAULT_DIR / "analogies.txt").read_text(encoding="utf-8") == synthetic.analogies()


def test_other_seeds_give_other_text():
    assert synthetic.generate(100, seed=1) != synthetic.generate(100, seed=2)


def test_analogy_file_is_in_questions_words_format():
    lines = synthetic.analogies().splitlines()
    assert lines[0] == ": capital-world"
    assert all(len(line.split()) == 4 for line in lines if not line.startswith(":"))
    assert "king queen man woman" in lines
