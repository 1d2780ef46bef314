"""Keys that find a Korean name written with one typing error (people search, issue #13).

The exact blind index (`korean.index_keys`) finds every *spelling* of a name; it cannot find
"Kim Gyeogn-guk" (a swapped letter) or "Kim Suu-sun" (a wrong one). These keys can.

A name is reduced to short *forms* (below). A stored name is indexed under its forms only
(`typo_keys`); a query is looked up under its forms and every string one typing error from
them (`typo_query_keys`: one symbol deleted, inserted or substituted, or two neighbours
swapped). So a query finds a stored name exactly when one of its forms is at most one edit
from one of the stored name's forms of the same kind and surname group: the optimal string
alignment distance ≤ 1, which `one_typo_apart` confirms on the decrypted name. The work is
on the query's side (a few thousand keys a search), not in the index (a few keys a name):
indexing every one-deletion variant of each stored form instead (the SymSpell idea, which
this module did until issue #14) made the typo keys five sixths of all index rows, the
largest cost of a bulk import, and showed in the database which names are near each other.

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
3. Two forms one edit apart match only if the longer has at least `MIN_LETTERS` letters (or
   `MIN_JAMO` jamo): among one-syllable names nearly every name is one edit from another.
   A query form longer than `MAX_FORM` is looked up as it is, without its neighbours.

Pure Python: no Django. Blind-index the keys with a kind of their own ("name_typo"), never
the exact index's.
"""

from __future__ import annotations

import re
import string
import unicodedata
from functools import lru_cache

from jikimi.lib import korean

__all__ = [
    "MAX_FORM",
    "MAX_KEYS",
    "MIN_JAMO",
    "MIN_LETTERS",
    "given_forms",
    "one_typo_apart",
    "typo_keys",
    "typo_query_keys",
]

MIN_LETTERS = 4
MIN_JAMO = 4
# The longest query form whose one-edit neighbours are looked up (about 2 (alphabet + 1)
# keys a symbol); a longer one is looked up as it is. Korean given names are far shorter.
MAX_FORM = 16
MAX_SURNAME_GROUPS = 2
# Bound on a stored name's keys, one a form: a Hangul name (one surname) has a jamo form and
# two letter forms per romanisation system (9 forms); a romanised one two letter forms per
# surname reading (4 forms). In practice the systems mostly agree: 3 to 5 keys a name.
MAX_KEYS = 2 * len(korean.SYSTEMS) + 1

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


# The symbols a stored form can hold, which a query's neighbours are made of: the folded
# letters (b, d, g, j, l and u are folded away), all lower-case letters, conjoining jamo.
_ALPHABET = {
    "r": "".join(sorted({_letters(c) for c in string.ascii_lowercase})),
    "a": string.ascii_lowercase,
    "j": "".join(
        chr(c) for c in (*range(0x1100, 0x1113), *range(0x1161, 0x1176), *range(0x11A8, 0x11C3))
    ),
}
# A jamo string of whole syllables (initial, vowel, optional final): only such strings are
# stored, so a query's neighbour that is none is not looked up.
_SYLLABLES_RE = re.compile("(?:[\u1100-\u1112][\u1161-\u1175][\u11a8-\u11c2]?)+")


def _one_edit(form: str, alphabet: str, minimum: int) -> set[str]:
    """`form` and the strings one edit from it that a stored form can match: deleted,
    substituted or swapped symbols when `form` has at least `minimum` of them, an inserted
    one when it has at least `minimum` - 1 (the longer of two forms one edit apart must have
    `minimum`)."""
    out = {form}
    n = len(form)
    if n > MAX_FORM or n < minimum - 1:
        return out
    out.update(form[:i] + c + form[i:] for i in range(n + 1) for c in alphabet)
    if n >= minimum:
        out.update(form[:i] + form[i + 1 :] for i in range(n))
        out.update(form[:i] + c + form[i + 1 :] for i in range(n) for c in alphabet)
        out.update(form[:i] + form[i + 1] + form[i] + form[i + 2 :] for i in range(n - 1))
    return out


@lru_cache(maxsize=1 << 16)
def _typo_keys(text: str) -> frozenset[str]:
    return frozenset(
        f"{kind}:{group}:{form}"
        for group, forms in given_forms(text).items()
        for kind, form in forms
    )


def typo_keys(text: str | None) -> set[str]:
    """The keys a stored name is indexed under: one a form (at most MAX_KEYS)."""
    return set(_typo_keys(text)) if text else set()


def typo_query_keys(text: str | None) -> set[str]:
    """The keys a search looks `text` up under: its forms and every string one typing error
    from them (see the module docstring). A stored name is found exactly when one of its
    `typo_keys` is among them."""
    keys: set[str] = set()
    for group, forms in given_forms(text).items():
        for kind, form in forms:
            minimum = MIN_JAMO if kind == "j" else MIN_LETTERS
            near = _one_edit(form, _ALPHABET[kind], minimum)
            if kind == "j":
                near = {v for v in near if _SYLLABLES_RE.fullmatch(v)}
            keys.update(f"{kind}:{group}:{v}" for v in near)
    return keys


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
