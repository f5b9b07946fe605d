"""The embedded default corpus: generated text with planted relations.

Three families of word pairs are planted so that skip-gram can learn them and a
person can recognise the answer: countries and capitals, male and female forms,
singular and plural nouns. Each pair shares "topic" words (france and paris
both meet "french"), and each side of a relation has its own "axis" words
(countries meet "nation", capitals meet "city"; male words meet "he", female
words "she"; singulars meet "a", plurals "many"), so that, in vector space,
paris - france + germany lands near berlin. Filler words drawn from a Zipf
law make the frequency profile look like real text.

`python -m w2v_cli.synthetic` rewrites w2v_cli/default/default.txt and
w2v_cli/default/analogies.txt; the output depends only on the seed.
Left out: grammar. Sentences are bags of words in random order.
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

# (country, capital, topic words shared by both)
COUNTRIES = [
    ("france", "paris", "french seine normandy"),
    ("germany", "berlin", "german rhine bavaria"),
    ("italy", "rome", "italian tiber tuscany"),
    ("spain", "madrid", "spanish ebro andalusia"),
    ("japan", "tokyo", "japanese honshu kyoto"),
    ("china", "beijing", "chinese yangtze shanghai"),
    ("russia", "moscow", "russian volga siberia"),
    ("egypt", "cairo", "egyptian nile pyramids"),
    ("greece", "athens", "greek aegean crete"),
    ("portugal", "lisbon", "portuguese tagus porto"),
    ("poland", "warsaw", "polish vistula krakow"),
    ("sweden", "stockholm", "swedish lapland gothenburg"),
]
COUNTRY_AXIS = "country nation border government population republic"
CAPITAL_AXIS = "city capital mayor downtown streets metropolis"

# (male, female, topic words shared by both)
GENDER = [
    ("king", "queen", "throne crown reign"),
    ("prince", "princess", "castle heir royal"),
    ("man", "woman", "adult person job"),
    ("boy", "girl", "kid school toys"),
    ("father", "mother", "parent household raised"),
    ("son", "daughter", "offspring born inherited"),
    ("brother", "sister", "sibling twin older"),
    ("husband", "wife", "married wedding spouse"),
    ("uncle", "aunt", "relatives visited cousin"),
    ("nephew", "niece", "young visited relatives"),
    ("actor", "actress", "film stage role"),
    ("waiter", "waitress", "restaurant tables served"),
]
MALE_AXIS = "he his him himself mr"
FEMALE_AXIS = "she her hers herself mrs"

# (singular, plural, topic words shared by both)
PLURAL = [
    ("cat", "cats", "fur mouse purr"),
    ("dog", "dogs", "bark leash bone"),
    ("car", "cars", "engine road wheels"),
    ("house", "houses", "roof rooms door"),
    ("tree", "trees", "leaves branches forest"),
    ("bird", "birds", "wings feathers nest"),
    ("book", "books", "pages chapter library"),
    ("apple", "apples", "fruit orchard juice"),
    ("horse", "horses", "saddle gallop stable"),
    ("river", "rivers", "water bank flows"),
    ("ship", "ships", "sail harbour crew"),
    ("flower", "flowers", "petals garden bloom"),
]
SINGULAR_AXIS = "a one this is was single"
PLURAL_AXIS = "many two these are were several"

FILLER = (
    "the of and to in that for on with as at by from it an be or not which also first new time "
    "year people other some can would about more when there been after into only over most very "
    "then just like well even back any good much where many through still way own same while "
    "long great little part world made each day before under last place right both life three "
    "four work old end large small between against group again"
).split()

SECTIONS = [("capital-world", COUNTRIES), ("family", GENDER), ("gram-plural", PLURAL)]


AXES = {"capital-world": (COUNTRY_AXIS, CAPITAL_AXIS), "family": (MALE_AXIS, FEMALE_AXIS),
        "gram-plural": (SINGULAR_AXIS, PLURAL_AXIS)}  # fmt: skip


def entities(families: tuple[str, ...] = tuple(AXES)) -> list[tuple[str, list[str], list[str]]]:
    """(word, topic words, axis words) for every planted word of the relation families (SECTIONS' names)."""
    out = []
    for name, pairs in SECTIONS:
        if name not in families:
            continue
        axes = AXES[name]
        for a, b, topic in pairs:
            out.append((a, topic.split(), axes[0].split()))
            out.append((b, topic.split(), axes[1].split()))
    return out


def sentence(rng: np.random.Generator, ents, filler_p: np.ndarray) -> list[str]:
    """One bag-of-words sentence about a random planted word, or pure filler."""
    n_fill = int(rng.integers(3, 7))
    words = list(rng.choice(FILLER, n_fill, p=filler_p))
    if rng.random() < 0.85:
        word, topic, axis = ents[rng.integers(len(ents))]
        words += [word] + list(rng.choice(topic, 2)) + list(rng.choice(axis, 2))
    rng.shuffle(words)
    return words


def generate(n_sentences: int = 40_000, seed: int = 2024, families: tuple[str, ...] = tuple(AXES)) -> str:
    """The corpus text, one sentence per line, planting the given relation families; same seed, same text."""
    rng = np.random.default_rng(seed)
    ents = entities(families)
    filler_p = 1.0 / np.arange(1, len(FILLER) + 1)
    filler_p /= filler_p.sum()
    return "".join(" ".join(sentence(rng, ents, filler_p)) + "\n" for _ in range(n_sentences))


def analogies() -> str:
    """Every planted analogy in the word2vec questions-words format."""
    lines = []
    for section, pairs in SECTIONS:
        lines.append(f": {section}")
        for (a, b, _), (c, d, _) in itertools.permutations(pairs, 2):
            lines.append(f"{a} {b} {c} {d}")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description="Write the embedded default corpus and its analogy set.")
    ap.add_argument("outdir", nargs="?", default=str(Path(__file__).parent / "default"))
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--sentences", type=int, default=40_000)
    args = ap.parse_args()
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "default.txt").write_text(generate(args.sentences, args.seed), encoding="utf-8")
    (out / "analogies.txt").write_text(analogies(), encoding="utf-8")


if __name__ == "__main__":
    main()
