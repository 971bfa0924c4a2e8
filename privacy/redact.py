"""Masking personal identifiers in free text, Chinese or English: `mask` and `find`.

Four kinds are masked, each kept recognisable but useless to anyone else:

- **phone**: a Chinese mobile number (11 digits, 1[3-9]…, written "13812345678",
  "138 1234 5678", "138-1234-5678", "+86 138…", "0086…", "86138…") keeps its first 3 and last
  4 digits: "138****5678". The learner and the agent still recognise the number ("the one
  ending 5678"); nobody can call it. The prefix and separators stay as written.
- **email**: the first character of the local part and the whole domain: "l***@qq.com",
  the way the bot already shows a learner's address (`actions.wording.mask_email`).
- **id_card**: an 18-character PRC resident ID (GB 11643: 17 digits and a check digit or X,
  a real region and birth date, the checksum right) keeps the 6-digit region and the last 4
  (sequence and check): "110105********123X". The birth date is what gets hidden.
- **bank_card**: 14 to 19 digits, whole or grouped in fours ("6222 0212 3456 7890 128"),
  with a network's first digit and length, and a valid Luhn check digit, keeps its first 4
  (the bank) and last 4, the digits banks print themselves: "6222 **** **** ***0 128".

A number is only an identifier when it stands alone. Digits glued to letters (order ids
"AC10010003", tax ids "91110108MA01ABCDEN", parcel numbers "SF1381234567890"), to a decimal
point or a dash between digits (prices, versions, dates), or inside a longer run of digits
(invoice numbers, payment serials) are left alone, and so is everything inside a link except
an email address: a link's numbers name courses and orders, not people. Each number is
checked (Luhn, the ID checksum, the mobile prefixes) so that a look-alike that merely has
the right length is left as it was.

The masked digits keep their places, so a masked text is as long as the original except for
emails; masking is idempotent, since a masked number has too few digits to match again.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from typing import Literal

Kind = Literal["email", "id_card", "bank_card", "phone"]

# Full-width digits (a Chinese IME in full-width mode types "１３８…") read as ASCII ones.
# One character for one, so a position in the folded text is the same in the original.
_FOLD = str.maketrans("０１２３４５６７８９＋－", "0123456789+-")

# The lookbehinds start a match only where a run of such characters starts: the same
# matches, but a 50 KB blob of letters in a log takes a millisecond instead of a minute.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
# A link with a scheme or "www.", or a bare domain followed by a path. No commas, so that
# "https://…/a,13812345678" does not swallow the number after it.
_URL_CHAR = r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+=%]"
_URL = re.compile(
    rf"(?:https?://|www\.){_URL_CHAR}+"
    rf"|(?<![A-Za-z0-9.-])[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{{2,}}/{_URL_CHAR}*"
)
_ID_CARD = re.compile(r"[0-9]{6}(?P<sep>[ -]?)(?:19|20)[0-9]{6}(?P=sep)[0-9]{3}[0-9Xx]")
_BANK_CARD = re.compile(
    r"[0-9]{14,19}"
    r"|[0-9]{4}(?P<sep>[ -])[0-9]{4}(?:(?P=sep)[0-9]{4}){1,2}(?:(?P=sep)[0-9]{1,4})?"
    r"|[0-9]{4}(?P<sep2>[ -])[0-9]{6}(?P=sep2)[0-9]{4,5}"  # Amex 4-6-5, Diners 4-6-4
)
_PHONE = re.compile(
    r"(?P<prefix>(?:\(\+?86\)|\+86|0086|86)[ -]?)?"
    r"(?P<number>1[3-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4})"
)

_ASCII_WORD = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
_DIGITS = frozenset("0123456789")

# GB 11643-1999: the 18th character of an ID number is sum(digit * weight) mod 11, read here.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# The first two digits are a province: 11-15 north, 21-23 north-east, 31-37 east, 41-46
# south-central, 50-54 south-west, 61-65 north-west; 71 Taiwan, 81 Hong Kong, 82 Macau, 83
# the residence permits of Taiwan residents.
_PROVINCES = frozenset(
    [*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55)]
    + [*range(61, 66), 71, 81, 82, 83]
)
# A card's length by its first digit (its network). 1, 7, 8 and 9 are not card networks:
# millisecond timestamps start with 1 and unified social credit codes made only of digits
# with 9, and a tenth of any long number passes Luhn by chance. Visa's 13-digit cards are
# no longer issued, and the old 9-prefixed domestic cards have been replaced by UnionPay's 62.
_CARD_LENGTHS: dict[str, range | tuple[int, ...]] = {
    "2": (16,),  # Mastercard's 2-series
    "3": range(14, 20),  # Diners 14, Amex 15, JCB 16-19
    "4": (16, 19),  # Visa
    "5": (16,),  # Mastercard
    "6": range(16, 20),  # UnionPay (62), Discover
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One identifier in a text: `text[start:end] == original`, shown as `masked`."""

    kind: Kind
    start: int
    end: int
    original: str
    masked: str


def luhn_ok(digits: str) -> bool:
    """Whether a string of ASCII digits (no spaces) ends in a valid Luhn check digit, the
    check every bank card carries."""
    if not digits or any(c not in _DIGITS for c in digits):
        return False
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def id_card_ok(s: str) -> bool:
    """Whether 18 characters (no spaces) are a plausible PRC resident ID number: a known
    province, a birth date that exists between 1900 and 2099, and the GB 11643 check
    character (a digit, or X for 10; x is accepted). The date is not compared with today, so
    the answer never changes with the clock."""
    if len(s) != 18 or any(c not in _DIGITS for c in s[:17]) or s[17] not in "0123456789Xx":
        return False
    if int(s[:2]) not in _PROVINCES:
        return False
    try:
        born = date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        return False
    if not 1900 <= born.year <= 2099:
        return False
    total = sum(int(c) * w for c, w in zip(s[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == s[17].upper()


def mask_email(email: str) -> str:
    """The first character of the local part and the domain: the learner recognises their
    address and the agent sees the provider, nobody can write to it."""
    name, _, host = email.partition("@")
    return (name[:1] + "***@" + host) if host else email


def mask_phone(phone: str) -> str:
    """A phone number as written with all but its first 3 and last 4 digits masked; a
    prefix (+86, 0086, 86) and the separators stay as they are."""
    folded = phone.translate(_FOLD)
    m = _PHONE.fullmatch(folded)
    cut = m.start("number") if m else 0
    return phone[:cut] + _mask_digits(phone[cut:], folded[cut:], head=3, tail=4)


def _mask_digits(original: str, folded: str, head: int, tail: int) -> str:
    """`original` with every digit (or X) but the first `head` and the last `tail` masked;
    separators stay. `folded` is the same text with full-width digits read as ASCII."""
    places = [i for i, c in enumerate(folded) if c in _ASCII_WORD]
    hidden = set(places[head : len(places) - tail])
    return "".join("*" if i in hidden else c for i, c in enumerate(original))


def _stands_alone(text: str, start: int, end: int) -> bool:
    """Whether `text[start:end]` is a number of its own rather than a piece of a longer
    token: not glued to ASCII letters or digits (an order id, a tax id), to an underscore, a
    plus or an @, nor to a dot or a dash that has a digit on its other side (a price, a
    version, a date). Chinese characters, spaces, punctuation and slashes are boundaries:
    "手机13812345678谢谢", "13812345678/13987654321"."""
    before = text[start - 1] if start > 0 else " "
    before2 = text[start - 2] if start > 1 else " "
    after = text[end] if end < len(text) else " "
    after2 = text[end + 1] if end + 1 < len(text) else " "
    if before in _ASCII_WORD or before in "_+@" or (before in ".-" and before2 in _DIGITS):
        return False
    return not (after in _ASCII_WORD or after in "_@" or (after in ".-" and after2 in _DIGITS))


def _id_cards(folded: str) -> Iterator[tuple[int, int]]:
    for m in _ID_CARD.finditer(folded):
        compact = m.group(0).replace(m.group("sep"), "") if m.group("sep") else m.group(0)
        if id_card_ok(compact) and _stands_alone(folded, m.start(), m.end()):
            yield m.start(), m.end()


def _is_card(number: str) -> bool:
    digits = "".join(c for c in number if c in _DIGITS)
    return len(digits) in _CARD_LENGTHS.get(digits[0], ()) and luhn_ok(digits)


def _bank_cards(folded: str) -> Iterator[tuple[int, int]]:
    """Each card number. A grouped number that is no card as a whole is tried without its
    last group, since anything may follow a card after a space ("6228 4800 1234 5671 2026年
    开户的")."""
    for m in _BANK_CARD.finditer(folded):
        ends = [m.end()]
        if m.group("sep"):
            ends.append(m.start() + m.group(0).rindex(m.group("sep")))
        for end in ends:
            if _is_card(folded[m.start() : end]) and _stands_alone(folded, m.start(), end):
                yield m.start(), end
                break


def _phones(folded: str) -> Iterator[tuple[int, int, int]]:
    """(start, where the 11 digits start, end) of each mobile number: with its prefix when
    the prefix stands alone, else the bare number ("2086 13812345678" is no +86)."""
    for m in _PHONE.finditer(folded):
        if m.group("prefix") and _stands_alone(folded, m.start(), m.end()):
            yield m.start(), m.start("number"), m.end()
        elif _stands_alone(folded, m.start("number"), m.end()):
            yield m.start("number"), m.start("number"), m.end()


def find(text: str) -> list[Finding]:
    """Every personal identifier in `text`, in order. Emails are read first (their local
    part is often a phone number: "13812345678@163.com"), then links are set aside, then ID
    cards, bank cards and phones, each skipping what an earlier one took: an 18-digit ID
    number can also pass Luhn."""
    folded = text.translate(_FOLD)
    findings: list[Finding] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    def add(kind: Kind, start: int, end: int, masked: str) -> None:
        findings.append(Finding(kind, start, end, text[start:end], masked))
        taken.append((start, end))

    for m in _EMAIL.finditer(folded):
        add("email", m.start(), m.end(), mask_email(text[m.start() : m.end()]))
    taken.extend(m.span() for m in _URL.finditer(folded))
    for start, end in _id_cards(folded):
        if free(start, end):
            add("id_card", start, end, _mask_digits(text[start:end], folded[start:end], 6, 4))
    for start, end in _bank_cards(folded):
        if free(start, end):
            add("bank_card", start, end, _mask_digits(text[start:end], folded[start:end], 4, 4))
    for start, cut, end in _phones(folded):
        if free(start, end):
            number = _mask_digits(text[cut:end], folded[cut:end], head=3, tail=4)
            add("phone", start, end, text[start:cut] + number)
    return sorted(findings, key=lambda f: f.start)


def mask(text: str) -> str:
    """`text` with every identifier `find` sees masked and everything else untouched: what
    ticket summaries, gap questions, logs and exports show."""
    out: list[str] = []
    at = 0
    for f in find(text):
        out += [text[at : f.start], f.masked]
        at = f.end
    out.append(text[at:])
    return "".join(out)
