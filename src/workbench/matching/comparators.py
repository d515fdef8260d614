"""Custom dedupe comparators for customer fields dedupe has no type for.

Module-level functions so models and worker processes can pickle them.
Each returns a distance: 0 for the same, larger for more different.
"""

from __future__ import annotations

from rapidfuzz import fuzz
from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

from workbench.standardize import ambiguous_nicknames


def compare_dates(a: str, b: str) -> float:
    """ISO dates: 0 same day; 0.25 day/month swapped or one digit off; 1 otherwise.

    Dates of birth are decisive between look-alike family members (twins
    excepted), so a plain string distance, which calls 1985-03-07 and
    1958-03-07 close, is not good enough.
    """
    if a == b:
        return 0.0
    if len(a) != 10 or len(b) != 10:
        return 1.0
    ya, ma, da = a[:4], a[5:7], a[8:10]
    yb, mb, db = b[:4], b[5:7], b[8:10]
    if ya == yb and ma == db and da == mb:
        return 0.25
    if sum(x != y for x, y in zip(a, b, strict=True)) == 1:
        return 0.25
    # Same year but another day is another person (twins excepted, siblings
    # of a year): not half a match, as a scale would have it.
    return 1.0


def compare_token_sets(a: str, b: str) -> float:
    """Jaccard distance of name tokens: 'smith john' vs 'john smith' is 0 (swapped names).

    Not rapidfuzz's token_set_ratio, which scores 'alan rodriguez' and
    'ashley rodriguez' as near-equal (a shared surname) and merges households.
    """
    sa, sb = set(a.split()), set(b.split())
    if not sa or not sb:
        return 1.0
    return 1.0 - len(sa & sb) / len(sa | sb)


def compare_exact(a: str, b: str) -> float:
    return 0.0 if a == b else 1.0


def compare_names(a: str, b: str) -> float:
    """Given or family names in levels: same 0, typo 0.25, initial 0.4, related 0.7, different 1.

    Levels rather than a raw string distance: a model trained on a few dozen
    labels separates "a typo of the same name" from "another name" far more
    reliably when the two are far apart on the scale (Splink's comparison
    levels make the same choice). dedupe's affine gap called "sarah"/"saera"
    nearly as far apart as "amanda"/"victoria". A typo changes the length by
    one at most: Daniel/Danielle and Joseph/Josephine are related names
    (siblings, twins), not typos, however alike they look. Two letters
    swapped count as one slip ("tnia" is a typo of "tina").
    """
    if a == b:
        return 0.0
    if len(a) == 1 or len(b) == 1:
        return 0.4 if a[0] == b[0] else 1.0
    if abs(len(a) - len(b)) <= 1 and OSA.distance(a, b) <= (1 if min(len(a), len(b)) <= 4 else 2):
        return 0.25
    if JaroWinkler.similarity(a, b) >= 0.85 or a.startswith(b) or b.startswith(a):
        return 0.7
    return 1.0


#: What turns a given name into its feminine form: Paul/Paula, Eric/Erica,
#: Daniel/Danielle, Joseph/Josephine, Henri/Henriette.
FEMININE_ENDINGS = frozenset({"a", "e", "ie", "le", "ne", "elle", "ette", "ine", "ina"})


def compare_given_names(a: str, b: str) -> float:
    """First names: as :func:`compare_names`, knowing nicknames and masculine/feminine pairs.

    - Paul/Paula, Eric/Erica: another person (twins, siblings), 1, although
      one letter apart; a slip rarely adds exactly a feminine ending.
    - Kim/Kimberly, Alex/Alexandra, Tina/Christina: an ambiguous nickname
      (kept as itself by the nickname table) and a name it can be short for,
      0.4, the level of an initial: compatible, not proof.
    - "Abhishek Pramod"/"Abhishek", "Mary Ann"/"Mary": a given name written
      with and without a middle name, 0.4 too.
    - "Mark Alan"/"Mark A": the same given name, its middle name written out
      once and as an initial once, 0.25 (the level of a one-letter slip).
    """
    if a == b:
        return 0.0
    ta, tb = a.split(), b.split()
    if len(ta) == len(tb) > 1 and ta[0] == tb[0] and all(
            x == y or (min(len(x), len(y)) == 1 and x[0] == y[0]) for x, y in zip(ta[1:], tb[1:], strict=True)):
        return 0.25
    short, long = (a, b) if len(a) <= len(b) else (b, a)
    if " " in long and long.startswith(short + " "):
        return 0.4
    if len(short) > 1 and long.startswith(short) and long[len(short):] in FEMININE_ENDINGS:
        return 1.0
    if short in ambiguous_nicknames() and (long.startswith(short) or long.endswith(short)):
        return 0.4
    return compare_names(a, b)


def compare_emails(a: str, b: str) -> float:
    """Standardized emails: same 0; same mailbox name elsewhere or a one-letter typo 0.3; else 1.

    Not an edit distance: jennifer.miller@ and jennifer.miller93@ are one
    character pair apart and two different people, as name-based mailboxes
    of namesakes usually are. Digits that differ mean another mailbox.
    """
    if a == b:
        return 0.0
    la, _, da = a.partition("@")
    lb, _, db = b.partition("@")
    if la == lb:
        return 0.3
    if da == db and Levenshtein.distance(la, lb) == 1 and _digits_out(la) != _digits_out(lb):
        return 0.3
    return 1.0


def _digits_out(s: str) -> str:
    return "".join(c for c in s if not c.isdigit())


def compare_strings(a: str, b: str) -> float:
    """Normalized edit distance (phones, postcodes, cities)."""
    if a == b:
        return 0.0
    return float(Levenshtein.normalized_distance(a, b))


def compare_addresses(a: str, b: str) -> float:
    """Token-sorted similarity, so '12 oak st apt 3' and 'apt 3 12 oak st' agree."""
    if a == b:
        return 0.0
    return 1.0 - fuzz.token_sort_ratio(a, b) / 100.0
