"""Keys that find a Korean name written with one typing error (people search, issue #13).

The exact blind index (`korean.index_keys`) finds every *spelling* of a name; it cannot find
"Kim Gyeogn-guk" (a swapped letter) or "Kim Suu-sun" (a wrong one). These keys can. They
are deletion-neighbourhood keys (the SymSpell idea): a name is reduced to a short string of
letters, and its keys are that string and every string made from it by deleting one letter.
Two names share a key exactly when deleting at most one letter from each makes them equal —
which covers one letter inserted, dropped, substituted or two neighbours swapped, and also
some pairs two edits apart ("kyonksok"/"kyoknkok"). So a shared key makes a *candidate*;
`one_typo_apart` then confirms it on the decrypted name (at most one insertion, deletion,
substitution or swap of neighbours: the optimal string alignment distance ≤ 1).

1. The surname is not typo-tolerant: it is reduced to its *surname group* (the coarse code
   of its Hangul surname: Lee/Yi/Ri/Rhee → "i", Park/Pak/Bak → "pak"), and every key carries
   it, so one edit in the given name of one family name is what matches.
2. The given name is reduced three ways:
   * *folded letters* ("r") — romanised, lower-case ASCII, with the distinctions spelling
     systems disagree on merged (eo/eu/u/oo → o, g/k, d/t, b/p, j/ch → c, l/r, sh → s, ae → e,
     ee → i), so one typo plus a change of spelling system is still one edit;
   * *letters as written* ("a") — the same without the merges, since a merge can turn one
     typo into two edits ("Rae-ran" for "Ran-ran" folds to "reran" against "ranran").
     A Hangul name is romanised in each of `korean.SYSTEMS` first, so "Kim Gyeogn-guk" finds
     김경국; a romanised name gives its letters as written;
   * *jamo* (Hangul names only) — one symbol per jamo, so a Hangul query with one wrong,
     missing or extra jamo (김겅국, 김경구) finds the name.
3. Given names shorter than `MIN_LETTERS` letters (or `MIN_JAMO` jamo) get no deletion
   variants: among one-syllable names nearly every name is one edit from another.

`typo_keys` is the same function for the stored name and for the query (the relation is
symmetric). Blind-index them with a kind of their own ("name_typo"), never the exact index's.
Pure Python: no Django.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from jikimi.lib import korean

__all__ = ["MAX_KEYS", "MIN_JAMO", "MIN_LETTERS", "given_forms", "one_typo_apart", "typo_keys"]

MIN_LETTERS = 4
MIN_JAMO = 4
# The longest folded given name whose deletion variants are all kept (longer ones keep the
# whole form and the variants of their first MAX_FORM letters: still one key in common with
# a one-typo spelling whose typo falls in that part).
MAX_FORM = 14
MAX_SURNAME_GROUPS = 2
# Bound on keys per name, each form giving at most MAX_FORM + 1: a Hangul name (one surname)
# has a jamo form and two letter forms per romanisation system (9 forms, 135 keys); a
# romanised one two letter forms per surname reading (4 forms, 60 keys). In practice the
# systems mostly agree: about 23 keys a name on the benchmark's names.
MAX_KEYS = (2 * len(korean.SYSTEMS) + 1) * (MAX_FORM + 1)

_LOOSE = (
    ("eo", "o"), ("eu", "o"), ("oo", "o"), ("u", "o"), ("ee", "i"), ("ae", "e"),
    ("ch", "c"), ("j", "c"), ("sh", "s"), ("g", "k"), ("d", "t"), ("b", "p"), ("l", "r"),
)  # fmt: skip
_SPLIT_RE = re.compile(r"[\s,·・./]+")
_SBASE, _SCOUNT = 0xAC00, 11172


@lru_cache(maxsize=1 << 16)  # given names repeat: an import keys thousands of people
def _letters(text: str, *, fold: bool = True) -> str:
    """Romanised letters: breves resolved, case and punctuation dropped, and (`fold`)
    spelling systems' disagreements merged (see the module docstring)."""
    text = text.lower()
    for src, dst in (("ŏ", "eo"), ("ŭ", "eu"), ("ö", "oe"), ("ä", "ae"), ("ü", "u")):
        text = text.replace(src, dst)
    text = unicodedata.normalize("NFKD", text)
    text = re.sub(r"[^a-z]", "", "".join(ch for ch in text if not unicodedata.combining(ch)))
    if fold:
        for src, dst in _LOOSE:
            text = text.replace(src, dst)
    return text


def _jamo(text: str) -> str:
    """One symbol per jamo (conjoining jamo code points: initials, vowels and finals apart)."""
    out = []
    for ch in text:
        index = ord(ch) - _SBASE
        if not 0 <= index < _SCOUNT:
            continue
        initial, vowel, final = index // 588, (index % 588) // 28, index % 28
        out.append(chr(0x1100 + initial) + chr(0x1161 + vowel))
        if final:
            out.append(chr(0x11A7 + final))
    return "".join(out)


@lru_cache(maxsize=4096)
def _surname_group(hangul_surname: str) -> str:
    code = "".join(korean.hangul_syllable_codes(korean.normalise_hangul_surname(hangul_surname)))
    return korean.coarse(code)


def given_forms(text: str | None) -> dict[str, set[tuple[str, str]]]:
    """{surname group: {(form kind, folded given name)}} for each plausible reading of `text`.

    Form kind "r" is the folded letters, "a" the letters as written, "j" the jamo string. A
    name with no known surname at either end yields nothing (the surname is what keeps the
    keys selective).
    """
    if not text or not text.strip():
        return {}
    text = unicodedata.normalize("NFC", text.strip())
    out: dict[str, set[tuple[str, str]]] = {}
    if korean.is_hangul(text):
        parts = korean.normalise_name(text)
        if not parts.hangul or not parts.surname_hangul:
            return {}
        surname = next(iter(parts.surname_hangul))
        given = parts.hangul[len(surname) :]
        if not given:
            return {}
        out[_surname_group(surname)] = set(_hangul_forms(given))
        return out
    tokens = [t for t in _SPLIT_RE.split(text) if t]
    if len(tokens) < 2:
        return {}
    # Either end may be the surname ("Kim Gyeong-guk", "Gyeong-guk Kim").
    splits = [(tokens[0], tokens[1:]), (tokens[-1], tokens[:-1])]
    for token, given_tokens in splits:
        if "-" in token:
            continue
        written = "".join(given_tokens)
        letters = _letters(written)
        if not letters:
            continue
        for hangul in sorted(korean.surname_hangul(token)):
            group = _surname_group(hangul)
            if group in out or len(out) < MAX_SURNAME_GROUPS:
                out.setdefault(group, set()).update(
                    {("r", letters), ("a", _letters(written, fold=False))}
                )
    return out


@lru_cache(maxsize=1 << 15)
def _hangul_forms(given: str) -> frozenset[tuple[str, str]]:
    """The forms of a given name written in Hangul: its jamo, and its letters folded and as
    written in each romanisation system (empty forms left out)."""
    forms = {("j", _jamo(given))}
    for system in korean.SYSTEMS:
        written = "".join(korean.romanise_syllables(given, system))
        forms.update({("r", _letters(written)), ("a", _letters(written, fold=False))})
    return frozenset(f for f in forms if f[1])


def _neighbourhood(form: str, minimum: int) -> set[str]:
    """The form and every string made from it by deleting one symbol (within MAX_FORM)."""
    variants = {form}
    if len(form) >= minimum:
        head = form[:MAX_FORM]
        variants.update(form[:i] + form[i + 1 :] for i in range(len(head)))
    return variants


@lru_cache(maxsize=1 << 16)
def _typo_keys(text: str) -> frozenset[str]:
    keys: set[str] = set()
    for group, forms in given_forms(text).items():
        for kind, form in forms:
            minimum = MIN_JAMO if kind == "j" else MIN_LETTERS
            keys.update(f"{kind}:{group}:{v}" for v in _neighbourhood(form, minimum))
    return frozenset(keys)


def typo_keys(text: str | None) -> set[str]:
    """Keys for a name (stored or searched): a name one typing error away shares one.

    At most MAX_KEYS keys. The keys of a stored name and of a query are made the same way.
    """
    return set(_typo_keys(text)) if text else set()


def _within_one_edit(a: str, b: str) -> bool:
    """Optimal string alignment distance ≤ 1: equal, or one symbol inserted, deleted,
    substituted, or two neighbours swapped."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    if len(a) < len(b):  # one symbol inserted at i
        return a[i:] == b[i + 1 :]
    if a[i + 1 :] == b[i + 1 :]:  # substituted
        return True
    return i + 1 < len(a) and a[i] == b[i + 1] and a[i + 1] == b[i] and a[i + 2 :] == b[i + 2 :]


def one_typo_apart(query: str | None, stored: str | None) -> bool:
    """Whether some reading of `query` is at most one typing error from some reading of
    `stored`: the same surname group, and given names (folded letters, or jamo when both are
    Hangul) within one edit (`_within_one_edit`)."""
    mine, theirs = given_forms(query), given_forms(stored)
    for group, forms in mine.items():
        for kind, form in forms:
            if any(k == kind and _within_one_edit(form, f) for k, f in theirs.get(group, ())):
                return True
    return False
