import numpy as np
import pytest
from conftest import DEFAULT_DIR, SHARED_EVAL, write

from w2v_cli.errors import W2VError
from w2v_cli.evaluate import evaluate_analogies, evaluate_similarity, pearson, rank, read_analogies, spearman
from w2v_cli.files import load_vectors
from w2v_cli.vectors import Vectors

WORDS = ["king", "queen", "man", "woman", "apple", "Man"]
M = np.array([[1, 1, 0], [1, -1, 0], [0, 1, 0.1], [0, -1, 0.1], [0, 0, 1], [0, 1, 0.12]], np.float32)
VECS = Vectors(WORDS, M)


def test_rank_and_correlations_on_known_values():
    assert rank(np.array([10, 20, 10])).tolist() == [1.5, 3.0, 1.5]
    assert spearman(np.array([1.0, 2, 3]), np.array([10.0, 30, 20])) == pytest.approx(0.5)
    assert pearson(np.array([1.0, 2, 3]), np.array([2.0, 4, 6])) == pytest.approx(1.0)


def test_correlations_match_scipy_with_ties():
    stats = pytest.importorskip("scipy.stats")
    rng = np.random.default_rng(0)
    x, y = rng.integers(0, 5, 40).astype(float), rng.normal(size=40)
    assert spearman(x, y) == pytest.approx(stats.spearmanr(x, y)[0], abs=1e-12)
    assert pearson(x, y) == pytest.approx(stats.pearsonr(x, y)[0], abs=1e-12)


def test_analogies_per_section_semantic_syntactic_and_coverage(tmp_path):
    path = write(
        tmp_path / "q.txt",
        ": royal\nman woman king queen\nMAN Woman KING Queen\nman woman king zzz\n"
        ": gram-gender\nking queen man woman\n",
    )
    r = evaluate_analogies(VECS, path)
    royal, gram = r["sections"]
    assert (royal["correct"], royal["answered"], royal["questions"]) == (2, 2, 3)
    assert royal["coverage"] == pytest.approx(2 / 3)
    assert (gram["correct"], gram["answered"]) == (1, 1)
    assert r["semantic"]["questions"] == 3 and r["syntactic"]["questions"] == 1
    assert r["total"]["accuracy"] == 1.0 and r["total"]["coverage"] == 0.75
    # 3CosMul answers "apple" to king:queen::man:? on these toy vectors (0.55 vs woman's 0.057)
    assert evaluate_analogies(VECS, path, method="mul")["total"]["correct"] == 2


def test_3cosmul_agrees_with_gensim(tmp_path):
    gensim = pytest.importorskip("gensim")
    kv = gensim.models.KeyedVectors(3)
    kv.add_vectors(WORDS[:5], M[:5])
    for a, b, c in [("man", "woman", "king"), ("king", "queen", "man"), ("apple", "king", "woman")]:
        expected = kv.most_similar_cosmul(positive=[b, c], negative=[a], topn=1)[0][0]
        path = write(tmp_path / "q.txt", f": s\n{a} {b} {c} {expected}\n")
        assert evaluate_analogies(Vectors(WORDS[:5], M[:5]), path, method="mul")["total"]["correct"] == 1


def test_restrict_vocab_skips_questions_with_rare_words(tmp_path):
    path = write(tmp_path / "q.txt", ": s\nman woman king queen\n")
    assert evaluate_analogies(VECS, path, restrict_vocab=3)["total"]["answered"] == 0


def test_case_variant_uses_the_most_frequent_form(tmp_path):
    """'Man' (rarer) must not stand in for 'man' (more frequent)."""
    path = write(tmp_path / "q.txt", ": s\nwoman man queen king\n")
    assert evaluate_analogies(VECS, path)["total"]["correct"] == 1


@pytest.mark.parametrize("text, message", [("a b c\n", "not four words"), (": empty\n", "no analogy questions")])
def test_bad_analogy_files(tmp_path, text, message):
    with pytest.raises(W2VError, match=message):
        read_analogies(write(tmp_path / "q.txt", text))


def test_similarity_counts_oov_and_malformed_lines(tmp_path):
    path = write(tmp_path / "s.tsv", "# comment\nking\tqueen\t8\nman woman 7\nking apple 1\nzzz king 5\nbad line\n")
    r = evaluate_similarity(VECS, path)
    assert (r["pairs"], r["used"], r["oov"], r["malformed"]) == (4, 3, 1, 1)
    unit = M / np.linalg.norm(M, axis=1, keepdims=True)
    model = np.array([unit[a] @ unit[b] for a, b in [(0, 1), (2, 3), (0, 4)]])
    assert r["spearman"] == pytest.approx(spearman(np.array([8.0, 7, 1]), model))


def test_numbers_equal_gensim_on_the_same_vectors(default_model, tmp_path):
    gensim = pytest.importorskip("gensim")
    kv = gensim.models.KeyedVectors.load_word2vec_format(str(default_model / "vectors.txt"))
    ours = load_vectors(default_model / "vectors.txt")
    files = [DEFAULT_DIR / "analogies.txt"]
    if (SHARED_EVAL / "questions-words.txt").is_file():
        files.append(SHARED_EVAL / "questions-words.txt")
    for f in files:
        g_acc, g_sections = kv.evaluate_word_analogies(str(f), restrict_vocab=30000)
        r = evaluate_analogies(ours, f, restrict_vocab=30000)
        assert r["total"]["answered"] > 0
        assert r["total"]["accuracy"] == pytest.approx(g_acc, abs=0.01)
        g_total = next(s for s in g_sections if s["section"] == "Total accuracy")
        assert r["total"]["correct"] == len(g_total["correct"])
    pairs = write(
        tmp_path / "pairs.tsv",
        "\n".join(
            f"{a}\t{b}\t{s}"
            for a, b, s in [
                ("king", "queen", 8),
                ("paris", "france", 9),
                ("cat", "cats", 9),
                ("king", "apple", 1),
                ("dog", "river", 2),
                ("man", "woman", 7),
                ("berlin", "tree", 1.5),
                ("Tokyo", "japan", 8.5),
                ("zzz", "cat", 3),
            ]
        ),
    )
    (g_pearson, _), (g_spearman, _), g_oov = kv.evaluate_word_pairs(str(pairs))
    r = evaluate_similarity(ours, pairs)
    assert r["spearman"] == pytest.approx(g_spearman, abs=0.01)
    assert r["pearson"] == pytest.approx(g_pearson, abs=0.01)
    assert r["oov"] == 1
