"""Korean names and places in any script or romanisation, reduced to ASCII keys.

The same person is written 이지현 in a case file, "Lee Ji-hyun" in a family report,
"Yi Jihyon" in an NGO list and "Ri Ji Hyon" in a North Korean broadcast. Everything here is
pure Python and returns ASCII, so that Splink compares the same strings whether it runs on
DuckDB (which measures distances on UTF-8 bytes) or Spark (which measures them on characters).

Two granularities of phonetic code are used:

* the *fine* code keeps the Hangul vowel distinctions that at least one spelling system
  preserves (ㅓ "eo" vs ㅗ "o", ㅡ "eu" vs ㅜ "u") and merges only what no common system
  distinguishes reliably (voiced/unvoiced/aspirated/tense consonants, ㅐ/ㅔ, ㅢ/ㅣ). A romanised
  spelling is ambiguous, so it yields a *set* of fine codes (e.g. "o" is ㅗ or ㅓ); Hangul yields
  exactly one. Two spellings of the same name share at least one fine code.
* the *coarse* code additionally merges ㅓ/ㅗ/ㅜ/ㅡ and ㅕ/ㅛ/ㅠ, so a romanised name has one
  coarse code, used for blocking and for string-similarity comparisons.

The North's initial ㄹ (리, 림, 류, 로, 량) and the South's initial-sound rule (두음 법칙) are
folded together: name-initial and syllable-initial ㄹ/ㄴ before ㅣ or a y-vowel is dropped,
and ㄹ elsewhere becomes ㄴ.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import product

from jikimi.lib import places

__all__ = [
    "NameParts",
    "coarse",
    "hangul_syllable_codes",
    "is_hangul",
    "jamo_string",
    "normalise_name",
    "normalise_hangul_surname",
    "province_code",
    "romanised_syllable_codes",
    "index_keys",
    "search_keys",
    "surname_hangul",
    "TypoKeys",
    "typo_fold",
    "typo_keys",
]

# --- Hangul arithmetic (Unicode: syllable = 0xAC00 + (initial * 21 + vowel) * 28 + final) ----

_SBASE, _SCOUNT, _VCOUNT, _TCOUNT = 0xAC00, 11172, 21, 28

# Fine classes per jamo, in Unicode order. Consonant manner (plain/tense/aspirated) is merged
# because McCune–Reischauer without apostrophes, RR and popular spellings disagree on it.
_INITIAL_CLASS = "k k n t t r m p p s s _ c c c k t p h".split()
_VOWEL_CLASS = "a e ya ye eo e yeo ye o wa we we yo u wo we wi yu eu i i".split()
_FINAL_CLASS = "_ k k k n n n t l k m l l l p l m p p t t ng t t k t p t".split()
# Distinct ASCII per jamo for the jamo string (keeps what the fine code merges).
_INITIAL_JAMO = "g G n d D r m b B s S x j J c k t p h".split()
_VOWEL_JAMO = "a ae ya yae eo e yeo ye o wa wae oe yo u wo we wi yu eu ui i".split()
_FINAL_JAMO = "_ g G gs n nj nh d l lg lm lb ls lt lp lh m b bs s S ng j c k t p h".split()

_Y_OR_I = frozenset({"i", "ya", "ye", "yeo", "yo", "yu"})


_HANGUL_SYLLABLE_RE = re.compile(f"[{chr(_SBASE)}-{chr(_SBASE + _SCOUNT - 1)}]")


def is_hangul(text: str) -> bool:
    """Whether `text` holds a precomposed Hangul syllable (가…힣)."""
    return _HANGUL_SYLLABLE_RE.search(text) is not None


def _decompose(ch: str) -> tuple[int, int, int] | None:
    index = ord(ch) - _SBASE
    if not 0 <= index < _SCOUNT:
        return None
    return index // (_VCOUNT * _TCOUNT), (index % (_VCOUNT * _TCOUNT)) // _TCOUNT, index % _TCOUNT


def _compose(initial: int, vowel: int, final: int) -> str:
    return chr(_SBASE + (initial * _VCOUNT + vowel) * _TCOUNT + final)


def _initial_sound_rule(initial: str, vowel: str) -> str:
    """두음 법칙 on a class code: the North writes 리/류/로, the South 이/유/노."""
    if initial in ("r", "n") and vowel in _Y_OR_I:
        return "_"
    if initial == "r":
        return "n"
    return initial


def _code(initial: str, vowel: str, final: str, *, word_initial: bool = True) -> str:
    if word_initial:
        initial = _initial_sound_rule(initial, vowel)
    return (initial if initial != "_" else "") + vowel + (final if final != "_" else "")


def _syllables(text: str) -> Iterator[tuple[int, int, int]]:
    """(initial, vowel, final) indices of each Hangul syllable in `text` (others skipped)."""
    for ch in text:
        parts = _decompose(ch)
        if parts is not None:
            yield parts


def hangul_syllable_codes(text: str) -> list[str]:
    """Fine phonetic code of each Hangul syllable in `text` (others ignored)."""
    codes = []
    for i, v, f in _syllables(text):
        codes.append(_code(_INITIAL_CLASS[i], _VOWEL_CLASS[v], _FINAL_CLASS[f]))
    return codes


def normalise_hangul_surname(text: str) -> str:
    """리 → 이, 림 → 임, 류 → 유, 로 → 노, 량 → 양: the South's spelling of a ㄹ-initial name."""
    if not text:
        return text
    parts = _decompose(text[0])
    if parts is None:
        return text
    i, v, f = parts
    initial = _INITIAL_CLASS[i]
    if initial in ("r", "n") and _VOWEL_CLASS[v] in _Y_OR_I:
        return _compose(11, v, f) + text[1:]  # ㅇ
    if initial == "r":
        return _compose(2, v, f) + text[1:]  # ㄴ
    return text


def jamo_string(text: str) -> str:
    """ASCII, one token per jamo, with the initial ㄹ/ㄴ of each syllable normalised.

    Unlike the phonetic codes this keeps ㄱ/ㅋ/ㄲ apart, so two Hangul spellings that differ by a
    typo still compare closely while different names stay apart.
    """
    out = []
    for i, v, f in _syllables(text):
        initial = _INITIAL_CLASS[i]
        vowel = _VOWEL_CLASS[v]
        if initial in ("r", "n") and vowel in _Y_OR_I:
            jamo_i = "x"
        elif initial == "r":
            jamo_i = "n"
        else:
            jamo_i = _INITIAL_JAMO[i]
        final = _FINAL_JAMO[f]
        out.append(jamo_i + _VOWEL_JAMO[v] + (final if final != "_" else ""))
    return "".join(out)


# --- Romanising Hangul (for display and for generating test records) ----------------------

_RR_INITIAL = "g kk n d tt r m b pp s ss _ j jj ch k t p h".split()
_RR_VOWEL = "a ae ya yae eo e yeo ye o wa wae oe yo u wo we wi yu eu ui i".split()
_RR_FINAL = "_ k k k n n n t l k m l l l p l m p p t t ng t t k t p t".split()
_MR_INITIAL = "k kk n t tt r m p pp s ss _ ch tch ch' k' t' p' h".split()
_MR_VOWEL = "a ae ya yae ŏ e yŏ ye o wa wae oe yo u wŏ we wi yu ŭ ŭi i".split()
# McCune–Reischauer voices a plain stop between voiced sounds (광일 → Kwang-il, 대중 → Tae-jung).
_MR_VOICED = {"k": "g", "t": "d", "p": "b", "ch": "j"}
SYSTEMS = ("rr", "mr", "north", "popular")


def romanise_syllables(text: str, system: str = "rr") -> list[str]:
    """Romanise each Hangul syllable of `text` in one system: "rr" (Revised Romanization),
    "mr" (McCune–Reischauer with breves and apostrophes), "north" (the DPRK's own: MR without
    diacritics, initial ㄹ kept) or "popular" (common passport-style spellings)."""
    out: list[str] = []
    previous_final = None
    for ch in text:
        parts = _decompose(ch)
        if parts is None:
            continue
        i, v, f = parts
        final = _RR_FINAL[f]
        if system == "rr":
            syl = _RR_INITIAL[i] + _RR_VOWEL[v] + final
        elif system == "popular":
            initial = _RR_INITIAL[i]
            vowel = {"eo": "u", "eu": "eu", "u": "oo", "ui": "ee", "yeo": "yu"}.get(
                _RR_VOWEL[v], _RR_VOWEL[v]
            )
            if vowel == "i" and initial == "h":
                vowel = "ee"
            if initial == "s" and vowel in ("i", "ee"):
                initial = "sh"
            syl = initial + vowel + final
        else:
            initial = _MR_INITIAL[i]
            if previous_final is not None and previous_final in ("_", "n", "m", "l", "ng"):
                initial = _MR_VOICED.get(initial, initial)
            vowel = _MR_VOWEL[v]
            syl = initial + vowel + final
            if system == "north":
                syl = syl.replace("ŏ", "o").replace("ŭ", "u").replace("'", "")
        out.append(syl.replace("_", ""))
        previous_final = final
    return out


# --- Romanised syllables --------------------------------------------------------------------

# Romanised onset → fine class. Revised Romanization (g, d, b, j), McCune–Reischauer (k, t, p,
# ch, with or without the aspiration apostrophe), the North's own and popular spellings.
_ONSETS: dict[str, str] = {
    "": "_",
    **dict.fromkeys(["g", "k", "kk", "gg", "kh", "gh", "q"], "k"),
    "n": "n",
    **dict.fromkeys(["d", "t", "tt", "dd", "th"], "t"),
    **dict.fromkeys(["r", "l", "rh", "lh", "ll"], "r"),
    "m": "m",
    **dict.fromkeys(["b", "p", "pp", "bb", "ph", "f"], "p"),
    **dict.fromkeys(["s", "ss", "sh"], "s"),
    **dict.fromkeys(["j", "ch", "jj", "tch", "c", "ts", "tj", "z", "chh"], "c"),
    "h": "h",
}
# Romanised nucleus → possible fine vowels. Ambiguities are kept as alternatives: MR without
# breves writes ㅓ as "o" and ㅡ as "u"; popular spelling writes ㅓ as "u" (Jung, Sung, Hyun).
_NUCLEI: dict[str, tuple[str, ...]] = {
    "a": ("a",),
    "ae": ("e",),
    "ai": ("e",),
    "e": ("e",),
    "ya": ("ya",),
    "yae": ("ye",),
    "ye": ("ye",),
    "eo": ("eo",),
    "o": ("o", "eo"),
    "u": ("u", "eu", "eo"),
    "eu": ("eu",),
    "oo": ("u",),
    "ou": ("eo", "u"),
    "yeo": ("yeo",),
    "yo": ("yo", "yeo"),
    "you": ("yeo", "yu"),
    "yu": ("yu", "yeo"),
    "yoo": ("yu",),
    "wa": ("wa",),
    "wae": ("we",),
    "oe": ("we",),
    "oi": ("we",),
    "we": ("we",),
    "wo": ("wo",),
    "weo": ("wo",),
    "wu": ("u",),
    "woo": ("u",),
    "wi": ("wi",),
    "wee": ("wi",),
    "ui": ("i", "wi"),
    "eui": ("i",),
    "i": ("i",),
    "ee": ("i",),
    "yi": ("i",),
}
_CODAS: dict[str, str] = {
    "": "_",
    **dict.fromkeys(["k", "g", "kk", "ck"], "k"),
    "n": "n",
    **dict.fromkeys(["t", "d", "s", "ss", "tt"], "t"),
    **dict.fromkeys(["l", "r", "ll"], "l"),
    "m": "m",
    **dict.fromkeys(["p", "b"], "p"),
    "ng": "ng",
}
_MAX_ONSET = max(map(len, _ONSETS))
_MAX_NUCLEUS = max(map(len, _NUCLEI))
_MAX_CODA = max(map(len, _CODAS))
_MAX_READINGS = 48


@lru_cache(maxsize=1 << 18)
def _fold_latin(text: str) -> str:
    """Lower-case ASCII letters only, breves resolved: ŏ → eo, ŭ → eu (unambiguous in MR)."""
    text = text.lower()
    for src, dst in (("ŏ", "eo"), ("ŭ", "eu"), ("ö", "oe"), ("ä", "ae"), ("ü", "u")):
        text = text.replace(src, dst)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"[^a-z]", "", text)


@lru_cache(maxsize=65536)
def _readings(word: str, start: int, first: bool) -> tuple[tuple[str, ...], ...]:
    """Every segmentation of word[start:] into syllables, as tuples of fine codes.

    Ordered so that the first reading is the greedy one (longest onset, nucleus and coda), which
    is the natural reading of most spellings ("jongun" → jong-un before jon-gun).
    """
    if start == len(word):
        return ((),)
    results: list[tuple[str, ...]] = []
    for o_len in range(min(_MAX_ONSET, len(word) - start), -1, -1):
        onset = word[start : start + o_len]
        if onset not in _ONSETS:
            continue
        pos = start + o_len
        for n_len in range(min(_MAX_NUCLEUS, len(word) - pos), 0, -1):
            nucleus = word[pos : pos + n_len]
            if nucleus not in _NUCLEI:
                continue
            after_nucleus = pos + n_len
            # Codas: "ng" first (never an onset), then an open syllable (a consonant between
            # vowels starts the next syllable: "Hyesul" is hye-sul), then longer codas.
            lengths = range(min(_MAX_CODA, len(word) - after_nucleus) + 1)
            for c_len in sorted(lengths, key=lambda n: (word[after_nucleus:][:n] != "ng", n)):
                coda = word[after_nucleus : after_nucleus + c_len]
                end = after_nucleus + c_len
                # A word-final "h" is decoration in popular spellings (Oh, Suh, Noh, Ahn).
                if coda not in _CODAS:
                    continue
                tails = _readings(word, end, False)
                if end < len(word) and word[end] == "h" and end + 1 == len(word):
                    tails = ((),)
                    end = len(word)
                if not tails:
                    continue
                for vowel in _NUCLEI[nucleus]:
                    code = _code(_ONSETS[onset], vowel, _CODAS[coda])
                    for tail in tails:
                        results.append((code, *tail))
                        if len(results) >= _MAX_READINGS:
                            return tuple(results)
    return tuple(results)


@lru_cache(maxsize=1 << 17)
def romanised_syllable_codes(word: str) -> tuple[tuple[str, ...], ...]:
    """Possible syllable readings of one romanised word (letters only), best first."""
    folded = _fold_latin(word)
    if not folded:
        return ()
    return _readings(folded, 0, True)


# --- Coarse code ----------------------------------------------------------------------------

_COARSE_VOWELS = (
    ("yeo", "yo"),
    ("yu", "yo"),
    ("eo", "o"),
    ("eu", "o"),
    ("u", "o"),
)
_COARSE_RE = re.compile("|".join(src for src, _ in _COARSE_VOWELS))
_COARSE_MAP = dict(_COARSE_VOWELS)


def coarse(code: str) -> str:
    """Merge ㅓ/ㅗ/ㅜ/ㅡ and ㅕ/ㅛ/ㅠ in a fine code: one string per name for any spelling."""
    return _COARSE_RE.sub(lambda m: _COARSE_MAP[m.group(0)], code)


# --- Surnames -------------------------------------------------------------------------------

# Surnames roughly by frequency (the rank settles which end of "Min Lee" is the surname),
# North Korean ㄹ-initial forms included. Two-syllable surnames first among their peers.
_SURNAMES = (
    "김 이 박 최 정 강 조 윤 장 임 한 오 서 신 권 황 안 송 전 홍 유 고 문 양 손 배 조 백 허 노 "
    "남 심 하 곽 성 차 주 우 구 민 나 진 지 엄 채 원 천 방 공 현 함 변 염 여 추 도 소 석 선 "
    "설 마 길 연 위 표 명 기 반 왕 금 옥 육 인 맹 제 모 탁 국 어 은 편 용 태 봉 경 피 승 "
    "빈 림 리 류 로 량 렴 려 련 룡 륙 라 남궁 황보 제갈 선우 독고 사공 서문"
).split()
_SURNAME_RANK = {name: rank for rank, name in enumerate(dict.fromkeys(_SURNAMES))}
_COMPOUND_SURNAMES = frozenset(s for s in _SURNAMES if len(s) == 2)
# Popular spellings no syllable grammar derives.
_SURNAME_EXCEPTIONS: dict[str, tuple[str, ...]] = {
    "park": ("박",),
    "bark": ("박",),
    "rey": ("이",),
    "rhie": ("이",),
    "yee": ("이",),
    "lie": ("이",),
    "choy": ("최",),
    "chey": ("최",),
    "ahn": ("안",),
    "hahn": ("한",),
    "whang": ("황",),
    "auh": ("오",),
    "sohn": ("손",),
    "shinn": ("신",),
    "ihm": ("임",),
    "kahng": ("강",),
    "jhang": ("장",),
    "zhang": ("장",),  # the Chinese reading, in Chinese-language reports
    "chough": ("조",),
    "ohm": ("엄",),
    "kwun": ("권",),
    "uhm": ("엄",),
    "um": ("엄",),
    "kwon": ("권",),
    "hur": ("허",),
    "huh": ("허",),
    "yeom": ("염",),
    "namkung": ("남궁",),
    "namgoong": ("남궁",),
    "hwangbo": ("황보",),
    "jegal": ("제갈",),
    "chegal": ("제갈",),
    "sunwoo": ("선우",),
    "seonu": ("선우",),
    "dokko": ("독고",),
    "tokko": ("독고",),
    "sagong": ("사공",),
    "sakong": ("사공",),
}


# Tokens that read as a surname only through a fine code that merges two vowels: ㅢ shares
# ㅣ's code (희 is written Hui, Hi and Hee), so "Ui" would be 이, the commonest surname, and
# "Cha Sun Ui" (차순의) would lose its surname to its last syllable. No system writes 이 so,
# and there is no surname 의.
_NOT_SURNAMES = frozenset({"ui", "eui"})


def _hangul_code(text: str) -> str:
    return "".join(hangul_syllable_codes(text))


# Fine code → Hangul surnames written that way (송 and 성 are both "song" in MR without breves;
# the fine code keeps them apart, the romanised parser offers both).
_SURNAME_BY_CODE: dict[str, set[str]] = {}
for _name in _SURNAME_RANK:
    _SURNAME_BY_CODE.setdefault(_hangul_code(_name), set()).add(normalise_hangul_surname(_name))


def is_known_surname_code(codes: frozenset[str] | set[str]) -> bool:
    """Whether every fine code is that of a Korean surname (no code → False)."""
    return bool(codes) and all(code in _SURNAME_BY_CODE for code in codes)


def _surname_rank(hangul: set[str]) -> int:
    return min((_SURNAME_RANK.get(h, 999) for h in hangul), default=999)


@lru_cache(maxsize=16384)
def _romanised_surname(token: str) -> tuple[frozenset[str], frozenset[str]]:
    """(fine codes, Hangul surnames) a romanised one-word surname can stand for."""
    folded = _fold_latin(token)
    if folded in _NOT_SURNAMES:
        return frozenset(), frozenset()
    if folded in _SURNAME_EXCEPTIONS:
        hangul = frozenset(_SURNAME_EXCEPTIONS[folded])
        return frozenset(_hangul_code(h) for h in hangul), hangul
    codes: set[str] = set()
    for reading in romanised_syllable_codes(folded):
        if len(reading) == 1 or (len(reading) == 2 and "".join(reading) in _SURNAME_BY_CODE):
            codes.add("".join(reading))
    hangul = frozenset(h for code in codes for h in _SURNAME_BY_CODE.get(code, ()))
    if hangul:
        # A known surname: keep only the codes of real surnames ("Song" → 송 or 성).
        codes = {code for code in codes if code in _SURNAME_BY_CODE}
    return frozenset(codes), hangul


@lru_cache(maxsize=1 << 16)
def surname_hangul(token: str) -> frozenset[str]:
    """The Hangul surnames a written surname may be (South spelling): "Ri" → {이}."""
    if is_hangul(token):
        return (
            frozenset({normalise_hangul_surname(token)}) if token in _SURNAME_RANK else frozenset()
        )
    return _romanised_surname(token)[1]


# --- Whole names ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NameParts:
    """One reading of a name, reduced to ASCII comparison keys.

    `surname_group` and `given_key` are coarse codes (one string whatever the spelling);
    `surname_keys` and `given_keys` are the fine codes the spelling may stand for.
    """

    surname_group: str = ""
    given_key: str = ""
    given_syllables: tuple[str, ...] = ()
    jamo: str = ""
    hangul: str | None = None
    surname_hangul: frozenset[str] = frozenset()
    surname_keys: frozenset[str] = frozenset()
    given_keys: frozenset[str] = frozenset()
    script: str = "none"
    # Other plausible (surname codes, given codes) splits, e.g. both orders of "Min Lee".
    alternatives: tuple[tuple[frozenset[str], frozenset[str]], ...] = field(default=())

    @property
    def is_empty(self) -> bool:
        return not (self.surname_keys or self.given_keys)


_SPLIT_RE = re.compile(r"[\s,·・./]+")


def _tokens(text: str) -> list[str]:
    return [t for t in _SPLIT_RE.split(unicodedata.normalize("NFC", text.strip())) if t]


def loose(text: str) -> str:
    """A typo-tolerant coarse spelling of romanised text, for when no syllable reading exists."""
    folded = _fold_latin(text)
    for src, dst in (
        ("eo", "o"), ("eu", "o"), ("oo", "o"), ("u", "o"), ("ee", "i"), ("ae", "e"),
        ("ch", "c"), ("j", "c"), ("sh", "s"), ("g", "k"), ("d", "t"), ("b", "p"), ("l", "r"),
    ):  # fmt: skip
        folded = folded.replace(src, dst)
    return folded


def _lenient_readings(folded: str) -> tuple[tuple[str, ...], ...]:
    """A typo'd syllable ("Sn-hye"): one reading with a vowel restored, or the loose letters."""
    for vowel in ("eo", "o", "u", "a", "i"):
        for at in range(1, len(folded) + 1):
            readings = _readings(folded[:at] + vowel + folded[at:], 0, True)
            if readings and len(readings[0]) == 1:
                return readings[:1]
    return ((loose(folded),),) if folded else ()


def _given_readings(pieces: list[str]) -> list[tuple[str, ...]]:
    return list(_given_readings_cached(tuple(pieces)))


@lru_cache(maxsize=1 << 17)
def _given_readings_cached(pieces: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """Readings of a given name written as one or more pieces ("Jong Un", "Jong-un", "Jongun").

    Hyphens and spaces mark syllable boundaries, which removes most segmentation ambiguity.
    """
    parts: list[tuple[tuple[str, ...], ...]] = []
    for piece in pieces:
        for sub in piece.split("-"):
            folded = _fold_latin(sub)
            if not folded:
                continue
            readings = _readings(folded, 0, True) or _lenient_readings(folded)
            if not readings:
                continue
            # The fewest syllables is the natural reading: "Seo-yeon" is 서연, not 세오연.
            fewest = min(map(len, readings))
            # A joined name may hide a syllable break inside a vowel pair ("Hoil" is 호일, not
            # 회ㄹ): keep one-more-syllable readings too unless hyphens or spaces mark syllables.
            spare = 1 if len(pieces) == 1 and "-" not in piece and fewest < 3 else 0
            parts.append(tuple(r for r in readings if len(r) <= fewest + spare))
    if not parts:
        return ()
    out: list[tuple[str, ...]] = []
    for combo in product(*parts):
        out.append(tuple(code for reading in combo for code in reading))
        if len(out) >= _MAX_READINGS:
            break
    return tuple(out)


def _parse_hangul(tokens: list[str]) -> NameParts:
    joined = "".join(t for t in tokens if is_hangul(t))
    if len(tokens) > 1 and len(tokens[-1]) <= 2 and tokens[-1] in _SURNAME_RANK:
        if tokens[0] not in _SURNAME_RANK or len(tokens[0]) > 2:
            joined = tokens[-1] + "".join(tokens[:-1])  # "지현 이": given name first
    joined = "".join(ch for ch in joined if _decompose(ch) is not None)
    if not joined:
        return NameParts()
    if len(joined) >= 3 and joined[:2] in _COMPOUND_SURNAMES:
        surname, given = joined[:2], joined[2:]
    else:
        surname, given = joined[:1], joined[1:]
    surname = normalise_hangul_surname(surname)
    given_codes = tuple(hangul_syllable_codes(given))
    surname_code = _hangul_code(surname)
    alternatives: tuple[tuple[frozenset[str], frozenset[str]], ...] = ()
    if len(tokens) == 1 and len(joined) <= 2:
        # "지현" or "철" may be a given name alone.
        alternatives = ((frozenset(), frozenset({_hangul_code(joined)})),)
    return NameParts(
        surname_group=coarse(surname_code),
        given_key=coarse("".join(given_codes)),
        given_syllables=given_codes,
        jamo=jamo_string(surname + given),
        hangul=surname + given,
        surname_hangul=frozenset({surname}),
        surname_keys=frozenset({surname_code}),
        given_keys=frozenset({"".join(given_codes)}) if given_codes else frozenset(),
        script="hangul",
        alternatives=alternatives,
    )


def _latin_split(
    tokens: list[str], every_order: bool = False
) -> list[tuple[str | None, list[str]]]:
    """Plausible (surname token, given tokens) splits, most likely first.

    `every_order` keeps both orders whenever both ends are surnames: a search should find
    차정지 from "Jeong Ji Cha" even though 정 is far commoner than 차, where linkage prefers
    precision and keeps only the likely reading."""
    if len(tokens) == 1:
        return [(None, tokens)]
    first, last = tokens[0], tokens[-1]
    first_known = bool(surname_hangul(first)) and "-" not in first
    last_known = bool(surname_hangul(last)) and "-" not in last
    # (rank, preference, split): rank decides which orders are kept, preference which is first.
    splits: list[tuple[int, int, tuple[str | None, list[str]]]] = []
    if first_known:
        rank = _surname_rank(set(surname_hangul(first)))
        splits.append((rank, rank, (first, tokens[1:])))
    if last_known:
        # Western order ("Jihyun Lee") loses a tie: Korean sources mostly write surname first,
        # and a spaced given name before the surname ("Myong Su Son") is rarer still, so with
        # three or more tokens the first token comes first unless it is a much rarer surname.
        rank = _surname_rank(set(surname_hangul(last))) + 1
        penalty = 0 if len(tokens) == 2 else 24
        splits.append((rank, rank + penalty, (last, tokens[:-1])))
    if not splits:
        # Neither end is a known surname (a typo, a rare name): try both orders.
        splits = [(0, 0, (first, tokens[1:])), (1, 1, (last, tokens[:-1]))]
    elif not first_known and len(tokens) > 2:
        # A misspelt surname in the usual place ("Kimm Nam Tae"): last among the readings.
        splits.append((999, 999, (first, tokens[1:])))
    # Keep the other order only if its surname is about as common ("Song Min"), not for
    # "Kim Jong Un" where 은 is a rare surname and 김 a very common one. With three or more
    # tokens the surname-first reading is always kept: it is the usual order, and "Cha Sun
    # Jong" (차순정) must not lose it because 정 is far commoner than 차, nor "Kimm Nam Tae"
    # because its surname is misspelt.
    best_rank = min(rank for rank, _, _ in splits)
    splits.sort(key=lambda s: s[1])
    out = [
        split
        for rank, _, split in splits
        if rank <= best_rank + 30
        or len(tokens) == 2
        or every_order
        or (len(tokens) > 2 and split == (first, tokens[1:]))
    ]
    if len(tokens) == 2 and all(
        any(len(r) == 1 for r in romanised_syllable_codes(t)) for t in tokens
    ):
        out.append((None, tokens))  # "Ji Hyun" may be a given name alone
    return out


def _parse_latin(tokens: list[str], every_order: bool = False) -> NameParts:
    alternatives: list[tuple[frozenset[str], frozenset[str]]] = []
    primary: tuple[str | None, list[str], list[tuple[str, ...]]] | None = None
    for surname, given in _latin_split(tokens, every_order):
        readings = _given_readings(given)
        if surname is None:
            surname_codes: frozenset[str] = frozenset()
        else:
            surname_codes = _romanised_surname(surname)[0]
            if not surname_codes:
                surname_codes = frozenset(
                    "".join(r) for r in romanised_syllable_codes(surname)[:4]
                ) or frozenset({loose(surname)} - {""})
        given_codes = frozenset("".join(r) for r in readings)
        if not surname_codes and not given_codes:
            continue
        alternatives.append((surname_codes, given_codes))
        if primary is None:
            primary = (surname, given, readings)
    if primary is None:
        return NameParts()
    surname, _given, readings = primary
    surname_codes, given_codes = alternatives[0]
    best = readings[0] if readings else ()
    if surname is not None:
        hangul_surnames = _romanised_surname(surname)[1]
        first_reading = romanised_syllable_codes(surname)[:1]
        surname_primary = (
            _hangul_code(min(hangul_surnames, key=lambda h: _SURNAME_RANK.get(h, 999)))
            if hangul_surnames
            else "".join(first_reading[0])
            if first_reading
            else loose(surname)
        )
    else:
        hangul_surnames, surname_primary = frozenset(), ""
    return NameParts(
        surname_group=coarse(surname_primary),
        given_key=coarse("".join(best)),
        given_syllables=tuple(best),
        jamo="",
        hangul=None,
        surname_hangul=hangul_surnames,
        surname_keys=surname_codes,
        given_keys=given_codes,
        script="latin",
        alternatives=tuple(alternatives[1:]),
    )


@lru_cache(maxsize=65536)
def normalise_name(text: str | None, *, every_order: bool = False) -> NameParts:
    """Parse a full name in Hangul or any romanisation, either order, any spacing.

    `every_order` (for search keys) keeps readings that linkage drops as unlikely."""
    if not text:
        return NameParts()
    tokens = _tokens(text)
    if not tokens:
        return NameParts()
    if is_hangul(text):
        return _parse_hangul(tokens)
    return _parse_latin(tokens, every_order)


_MAX_KEYS = 96


def _keys(text: str | None, *, index: bool) -> set[str]:
    parts = normalise_name(text, every_order=True)
    keys: set[str] = set()
    for surnames, givens in ((parts.surname_keys, parts.given_keys), *parts.alternatives):
        if surnames and givens:
            keys.update(f"n:{s}:{g}" for s, g in product(sorted(surnames), sorted(givens)))
            if index:
                keys.update(f"g:{g}" for g in givens)
        elif givens:
            keys.update(f"g:{g}" for g in givens)
        elif surnames:
            keys.update(f"s:{s}" for s in surnames)
        if len(keys) >= _MAX_KEYS:
            break
    return keys


def search_keys(text: str | None) -> set[str]:
    """ASCII keys for a name as searched: two spellings of the same name share at least one.

    A full name gives `n:<surname>:<given>` keys, for every plausible reading and order; a given
    name alone ("Jihyun", "지현", "Ji Hyun") gives `g:<given>` keys; a surname alone `s:<surname>`.
    For a blind index, store `index_keys(name)` (which adds the `g:` keys of a full name, so a
    search by the given name alone finds it) and look up `search_keys(query)`. Different full
    names share no key: 김지현 and "Lee Jihyun" are different people.
    """
    return _keys(text, index=False)


def index_keys(text: str | None) -> set[str]:
    """Keys to store for a name: `search_keys` plus the `g:` keys of its given name."""
    return _keys(text, index=True)


# --- Typo-tolerant keys of the given name (linkage; search keys are untouched) ---------------
#
# A romanised given name with a typing error ("Gyeogn-guk", "Suu-sun", "Sun-seonn", "Ilomi")
# is often no valid syllable sequence, and its syllable readings then say little. These keys
# work on the letters instead, folded so that what romanisation systems and the ear disagree
# on costs nothing (voicing and aspiration, ㅓ/ㅗ/ㅜ/ㅡ as o, ㄹ as r/l, doubled letters) and a
# slip costs one edit: "Gyeogn-guk" → kyoknkok, 김경국 → kyonkok (1 apart), "Suu-sun" → soson
# and 김숙순 → sokson (1), "Ilomi" → iromi and "Il Mi" → irmi (1). The consonant skeleton
# (kyonkok → knk) survives any slip on a vowel and blocks such pairs together.

_TYPO_FOLDS = (
    ("tch", "c"), ("ch", "c"), ("sh", "s"), ("ph", "p"), ("kh", "k"), ("th", "t"), ("j", "c"),
    ("z", "c"), ("q", "k"), ("g", "k"), ("d", "t"), ("b", "p"), ("f", "p"), ("v", "p"),
    ("l", "r"), ("x", "s"), ("eo", "o"), ("eu", "o"), ("ou", "o"), ("u", "o"), ("ae", "e"),
    ("ai", "e"), ("ee", "i"), ("oi", "we"), ("yi", "i"),
)  # fmt: skip
# Scanned lists (OCR) read "m" as "rn" and "d" as "cl": two letters for one, so two edits
# apart. Neither pair occurs in a romanised Korean given name (RR, MR and the North write
# ㄹ before ㄴ as "l"), so both are read back before folding and the scan costs nothing; the
# one-letter confusions (l/I, o/c, e/c, h/b) stay one edit.
_OCR_FOLDS = (("rn", "m"),)
# ... and "cl" is a scanned d only before a vowel (d opens a syllable); before a consonant or
# at the end its c is a scanned o or e ("Hwa-scl" is Hwa-sol, "Ki-secl" Ki-seol).
_OCR_D_RE = re.compile(r"cl(?=[aeiouwy])")
# A "c" of a romanised Korean syllable is "ch" or comes before a vowel: one before another
# consonant or at the end is a scanned o or e ("Scn", "Mycng", "Pck").
_OCR_C_RE = re.compile(r"c(?![aeiouwyh])")
# Within a word a capital I after a small letter (or after the word's first I) is a scanned
# l ("CheoI", "II"), and an l after a consonant other than l or c (cl is a d) a scanned i
# ("Ml", "Chln"): Korean syllables put ㄹ after a vowel. Not before a vowel: a scanned i
# there would make "ia", "io", "ii", which no romanised syllable has, while "Kli-yong" is
# "Kil-yong" with two keys swapped. Read from the letters as written, word by word.
_OCR_CAPITAL_I_RE = re.compile(r"(?<=[a-z])I|(?<=^I)I")
_OCR_L_RE = re.compile(r"(?<=[bdfghjkmnpqstvxz])l(?![aeiou])", re.IGNORECASE)
# No syllable has "ii": within one written word it is a scanned u ("Sun iin", "Giik").
_OCR_II_RE = re.compile(r"ii", re.IGNORECASE)


def _unscan(word: str) -> str:
    """One written word with the scanner's l/I/i confusions read back (`_OCR_CAPITAL_I_RE`)."""
    return _OCR_II_RE.sub("u", _OCR_L_RE.sub("i", _OCR_CAPITAL_I_RE.sub("l", word)))


_DOUBLES_RE = re.compile(r"(.)\1+")
_VOWELS_RE = re.compile(r"[aeiouwy]+")


def typo_fold(text: str) -> str:
    """The letters of romanised text, folded for typo-tolerant comparison (ASCII)."""
    folded = _fold_latin(text)
    for src, dst in _OCR_FOLDS:
        folded = folded.replace(src, dst)
    folded = _OCR_D_RE.sub("d", folded)
    folded = _OCR_C_RE.sub("o", folded)
    for src, dst in _TYPO_FOLDS:
        folded = folded.replace(src, dst)
    return _DOUBLES_RE.sub(r"\1", folded)


@dataclass(frozen=True)
class TypoKeys:
    """`fold`: the given name's folded letters (compared by edit distance); `skeleton`: its
    consonants (a blocking key); `hangul`: the fine code of a given name written in Hangul
    (two Hangul spellings that differ are two names, not two spellings); `surname`: the
    surname's folded letters as written ("Hwnag" → hwnak, 황 → hwank), `surname_known`
    whether it is a Korean surname at all (a misspelt one is not)."""

    fold: str = ""
    skeleton: str = ""
    hangul: str | None = None
    surname: str = ""
    surname_known: bool = False


@lru_cache(maxsize=1 << 17)
def typo_keys(text: str | None) -> TypoKeys:
    """Typo-tolerant keys of the given name of a full name (Hangul or any romanisation), the
    split `normalise_name` prefers (surname first or last)."""
    if not text:
        return TypoKeys()
    tokens = _tokens(text)
    if not tokens:
        return TypoKeys()
    hangul_code = None
    if is_hangul(text):
        parts = normalise_name(text)
        if not parts.hangul:
            return TypoKeys()
        surname = next(iter(parts.surname_hangul), "")
        given = parts.hangul[len(surname) :]
        letters = "".join(romanise_syllables(given, "rr"))
        hangul_code = "".join(hangul_syllable_codes(given)) or None
        surname_letters = "".join(romanise_syllables(surname, "rr"))
        known = bool(surname)
    else:
        splits = _latin_split(tokens)
        surname_token, given_tokens = splits[0] if splits else (None, tokens)
        letters = "".join(map(_unscan, given_tokens))
        surname_letters = _unscan(surname_token or "")
        known = bool(surname_token and surname_hangul(surname_token))
    fold = typo_fold(letters)
    skeleton = _DOUBLES_RE.sub(r"\1", _VOWELS_RE.sub("", fold))
    return TypoKeys(fold, skeleton, hangul_code, typo_fold(surname_letters), known)


# --- Provinces ------------------------------------------------------------------------------

# The vocabulary (codes, Hangul and romanised stems) is `jikimi.lib.places`, defined once.
# Hangul stems, longest first, so 평안남 wins over a shorter stem.
_PROVINCE_HANGUL: dict[str, str] = dict(
    sorted(
        ((stem, p.code) for p in places.PROVINCES for stem in p.hangul_stems),
        key=lambda item: -len(item[0]),
    )
)
# Romanised stems in the vocabulary's order; a stem two provinces share ("byongan") maps to
# its (north, south) codes and the words around it decide.
_PROVINCE_BASES: tuple[tuple[str, str | tuple[str, str]], ...] = tuple(
    (
        stem,
        next(p.code for p in owners)
        if len(owners) == 1
        else (
            next(p.code for p in owners if p.half == "north"),
            next(p.code for p in owners if p.half == "south"),
        ),
    )
    for stem in dict.fromkeys(s for p in places.PROVINCES for s in p.romanised_stems)
    for owners in [[p for p in places.PROVINCES if stem in p.romanised_stems]]
)


def _fold_place(text: str) -> str:
    text = _fold_latin(text)
    for src, dst in (("eo", "o"), ("ph", "b"), ("ch", "j"), ("k", "g"), ("p", "b"), ("ae", "ae")):
        text = text.replace(src, dst)
    return text


@lru_cache(maxsize=4096)  # a file names a few dozen spellings a hundred thousand times
def province_code(text: str | None) -> str | None:
    """ISO 3166-2:KP code of a North Korean province from any spelling, or None.

    함경북도, 함북, North Hamgyong, Hamgyong-bukto, Hamkyŏng-pukto, KP-09 → "KP-09".
    """
    if not text or not text.strip():
        return None
    if iso := places.iso_code(text):  # the canonical form itself (forms, API, exports)
        return iso
    if is_hangul(text):
        compact = re.sub(r"[^가-힣]", "", text)
        for prefix in _PROVINCE_HANGUL:
            if compact.startswith(prefix):
                return _PROVINCE_HANGUL[prefix]
        return None
    lowered = unicodedata.normalize("NFKD", text.lower())
    words = re.findall(r"[a-z]+", lowered)
    north = bool(words) and words[0] in ("north", "n")
    south = bool(words) and words[0] in ("south", "s")
    folded = _fold_place(text)
    if folded.startswith("north"):
        folded = folded[5:]
    elif folded.startswith("south"):
        folded = folded[5:]
    folded = folded.replace("ryanggang", "yanggang")
    for base, code in _PROVINCE_BASES:
        position = folded.find(base)
        if position < 0:
            continue
        if isinstance(code, str):
            return code
        rest = folded[position + len(base) :]
        if north or rest.startswith("bug") or rest.startswith("bu"):
            return code[0]
        if south or rest.startswith("nam"):
            return code[1]
        return None  # "Hamgyong" alone: which of the two is unknown
    return None
