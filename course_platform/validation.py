"""Checks on what learners type into forms: tax ids, emails, phone numbers, order ids."""

import re

EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
PHONE = re.compile(r"^1[3-9]\d{9}$")
ORDER_ID = re.compile(r"\bAC\d{8}\b", re.I)
URL = re.compile(r"https?://\S+|(?:www\.)?[a-z0-9-]+\.(?:com|cn|net|org|io|me|tv)\S*", re.I)

# GB 32100-2015 unified social credit code (统一社会信用代码): 18 characters from this
# alphabet, the last one a check character computed from the other 17.
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def normalise_tax_id(text: str) -> str:
    return re.sub(r"[\s-]", "", text).upper()


def is_valid_tax_id(text: str) -> bool:
    code = normalise_tax_id(text)
    if len(code) != 18 or any(c not in _USCC_ALPHABET for c in code):
        return False
    return uscc_check_char(code[:17]) == code[17]


def find_tax_id(text: str) -> str | None:
    """A valid code typed bare ("9111 0108 …") or inside a sentence ("税号是91110108MA01…"),
    normalised; None if the message holds no valid one."""
    if is_valid_tax_id(text):
        return normalise_tax_id(text)
    for m in re.finditer(r"(?<![0-9A-Za-z])[0-9A-Za-z]{18}(?![0-9A-Za-z])", text):
        if is_valid_tax_id(m.group(0)):
            return normalise_tax_id(m.group(0))
    return None


def find_email(text: str) -> str | None:
    m = re.search(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", text)
    return m.group(0) if m else None


def find_phone(text: str) -> str | None:
    m = re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", text.replace(" ", "").replace("-", ""))
    return m.group(0) if m else None


def find_order_id(text: str) -> str | None:
    m = ORDER_ID.search(text)
    return m.group(0).upper() if m else None


def find_url(text: str) -> str | None:
    m = URL.search(text)
    return m.group(0) if m else None
