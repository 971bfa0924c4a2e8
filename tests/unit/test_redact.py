"""Redaction (privacy/redact.py) on a corpus: what learners, ticket summaries and logs really
write, and the look-alikes that must stay as they are.

Every ID-card and bank-card number here is made up (or a network's published test number),
and the checks below prove each one valid by an implementation of our own, so a positive
never passes because the library and the corpus share a mistake.
"""

import ast
import time
from pathlib import Path

import pytest

from actions.wording import mask_email as wording_mask_email
from course_platform.validation import is_valid_tax_id
from privacy.redact import Finding, find, id_card_ok, luhn_ok, mask, mask_email, mask_phone

# -- made-up identifiers, each checked below -------------------------------------------------

ID_CHAOYANG = "110105199003071239"  # Beijing Chaoyang, born 1990-03-07
ID_WITH_X = "11010519900307128X"
ID_SHENZHEN = "44030520010215450x"  # lower-case x, as typed
ID_SHANGHAI = "310104198512120015"  # used as a personal invoice's tax id
ID_FEB_30 = "110105199002301231"  # right checksum, no such day
ID_BAD_CHECK = "110105199003071238"
ID_LANZHOU_LUHN = "620102199001011057"  # Gansu 62 as UnionPay 62, and Luhn-valid too

CARD_19 = "6222021234567890128"  # UnionPay, 19 digits
CARD_16 = "6228480012345671"
CARD_18 = "621483012345678902"
CARD_BAD_LUHN = "6222021234567890127"
# the networks' published test numbers
VISA, MASTERCARD, AMEX, UNIONPAY = (
    "4111111111111111",
    "5555555555554444",
    "378282246310005",
    "6200000000000005",
)

TAX_ID = "91110108MA01ABCDEN"  # letters inside, its own check character
TAX_ID_DIGITS = "911100001001000160"  # all digits, and Luhn-valid by chance
TAX_ID_SOCIAL = "531100005001000233"  # a social organisation's, all digits, Luhn-valid too
TIMESTAMP_MS = "1733456789010"  # Luhn-valid
SERIAL = "138123456789010"  # starts like a phone, Luhn-valid
LICENCE_KEY = "1234-5678-9012-3452"  # Luhn-valid


def gb11643_check(first17: str) -> str:
    """The ID check character, written from the standard independently of the library:
    weights 2^(17-i) mod 11, check (12 - sum mod 11) mod 11, 10 written X."""
    total = sum(int(c) * pow(2, 17 - i, 11) for i, c in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def luhn_valid(digits: str) -> bool:
    """Luhn, written the other way round: double every second digit from the right."""
    doubled = [int(c) * 2 if i % 2 else int(c) for i, c in enumerate(reversed(digits))]
    return sum(d // 10 + d % 10 for d in doubled) % 10 == 0


def test_the_corpus_numbers_are_what_they_claim():
    for number in (ID_CHAOYANG, ID_WITH_X, ID_SHENZHEN, ID_SHANGHAI, ID_FEB_30, ID_LANZHOU_LUHN):
        assert gb11643_check(number[:17]) == number[17].upper(), number
    assert gb11643_check(ID_BAD_CHECK[:17]) != ID_BAD_CHECK[17]
    for number in (CARD_19, CARD_16, CARD_18, VISA, MASTERCARD, AMEX, UNIONPAY, ID_LANZHOU_LUHN):
        assert luhn_valid(number), number
    assert not luhn_valid(CARD_BAD_LUHN)
    # the look-alikes pass Luhn, so only the rules about what a card looks like leave them
    for number in (TAX_ID_DIGITS, TAX_ID_SOCIAL, TIMESTAMP_MS, SERIAL, LICENCE_KEY):
        assert luhn_valid(number.replace("-", "")), number
    for tax_id in (TAX_ID, TAX_ID_DIGITS, TAX_ID_SOCIAL):
        assert is_valid_tax_id(tax_id), tax_id


# -- positives: the exact masked text ---------------------------------------------------------

POSITIVES = [
    (
        "我的手机号是 138 1234 5678，邮箱 li.ming@qq.com",
        "我的手机号是 138 **** 5678，邮箱 l***@qq.com",
    ),
    ("我的手机是13812345678谢谢", "我的手机是138****5678谢谢"),
    ("电话：+86 139-8765-4321", "电话：+86 139-****-4321"),
    ("+8613812345678", "+86138****5678"),
    ("手机 8615912345678，白天都在", "手机 86159****5678，白天都在"),
    ("海外打来请拨 0086 18612345678", "海外打来请拨 0086 186****5678"),
    ("联系方式(+86)17712345678", "联系方式(+86)177****5678"),
    ("为什么我绑定的手机15012345678收不到验证码？", "为什么我绑定的手机150****5678收不到验证码？"),
    ("手机13812345678/13987654321都可以", "手机138****5678/139****4321都可以"),
    ("我的手机是１３８１２３４５６７８", "我的手机是１３８****５６７８"),
    ("请联系我（13812345678），谢谢", "请联系我（138****5678），谢谢"),
    ("Call 13812345678.", "Call 138****5678."),
    (
        "Please call me at +86 150 1234 5678 or email me at jane.doe@gmail.com.",
        "Please call me at +86 150 **** 5678 or email me at j***@gmail.com.",
    ),
    ("2026-12-06 13812345678 来电", "2026-12-06 138****5678 来电"),
    ("分机 2086 13812345678", "分机 2086 138****5678"),
    (
        "2026-12-06 13:45:12 INFO phone=13712345678 order=AC10010003",
        "2026-12-06 13:45:12 INFO phone=137****5678 order=AC10010003",
    ),
    (
        "Refund summary: learner Li Ming (li.ming@example.com, 13912345678) asks for a refund "
        "of order AC10010003, ¥1999.00, paid 2026-12-06.",
        "Refund summary: learner Li Ming (l***@example.com, 139****5678) asks for a refund "
        "of order AC10010003, ¥1999.00, paid 2026-12-06.",
    ),
    (
        "工单摘要：学员李明（手机 199 1234 5678）申请退款，订单 AC10010003，金额 ¥1999.00，"
        "退回尾号 5671 的银行卡。",
        "工单摘要：学员李明（手机 199 **** 5678）申请退款，订单 AC10010003，金额 ¥1999.00，"
        "退回尾号 5671 的银行卡。",
    ),
    ("邮箱 13812345678@163.com 收不到验证码", "邮箱 1***@163.com 收不到验证码"),
    ("邮箱是 Wang_Fang+course@outlook.com。", "邮箱是 W***@outlook.com。"),
    ("user=zhang.san@sina.com.cn action=export", "user=z***@sina.com.cn action=export"),
    (
        "重置链接 https://ke.example.com/reset?email=li.ming@qq.com&id=12345678901",
        "重置链接 https://ke.example.com/reset?email=l***@qq.com&id=12345678901",
    ),
    (
        "李明,13812345678,li.ming@qq.com,AC10010003,1999.00",
        "李明,138****5678,l***@qq.com,AC10010003,1999.00",
    ),
    (
        "退款请打到我的银行卡，卡号 6222 0212 3456 7890 128，开户行工商银行",
        "退款请打到我的银行卡，卡号 6222 **** **** ***0 128，开户行工商银行",
    ),
    (f"卡号{CARD_16}", "卡号6228********5671"),
    ("refund to card 6214 8301 2345 6789 02", "refund to card 6214 **** **** **89 02"),
    (
        "Card: 4111-1111-1111-1111, please refund there",
        "Card: 4111-****-****-1111, please refund there",
    ),
    ("Mastercard 5555 5555 5555 4444", "Mastercard 5555 **** **** 4444"),
    ("卡号 6228 4800 1234 5671 2026年开户的", "卡号 6228 **** **** 5671 2026年开户的"),
    ("Amex 3782 822463 10005", "Amex 3782 ****** *0005"),
    (f"UnionPay test card {UNIONPAY}", "UnionPay test card 6200********0005"),
    (f"身份证号 {ID_CHAOYANG}", "身份证号 110105********1239"),
    (f"身份证：{ID_WITH_X}。", "身份证：110105********128X。"),
    ("ID card 440305 20010215 450x", "ID card 440305 ******** 450x"),
    (
        f"发票抬头：李明（个人），税号填身份证 {ID_SHANGHAI}",
        "发票抬头：李明（个人），税号填身份证 310104********0015",
    ),
    (
        f"My ID is {ID_WITH_X} and my card is {CARD_16}.",
        "My ID is 110105********128X and my card is 6228********5671.",
    ),
    (
        f"姓名李明，手机138-1234-5678，身份证{ID_CHAOYANG}，卡号6222 0212 3456 7890 128，"
        "邮箱li.ming@qq.com",
        "姓名李明，手机138-****-5678，身份证110105********1239，卡号6222 **** **** ***0 128，"
        "邮箱l***@qq.com",
    ),
]

# -- look-alikes: left exactly as written -----------------------------------------------------

NEGATIVES = [
    "订单号 AC10010003 已退款",
    "Order AC10010003 was refunded on 2026-12-06.",
    "订单 AC13812345678",
    "下单时间 20261206 14:30:05",
    "时间 13:45:12，2026-12-06T13:45:12+08:00",
    "活动时间 2026-12-06 至 2027-01-05",
    "２０２６年１２月６日开课",
    "价格 ¥1999.00，优惠后 1,999元",
    "价格 13800元，¥13800",
    "Total: $13,812,345,678.00",
    f"税号 {TAX_ID}",
    f"发票抬头：北京某某科技有限公司，纳税人识别号：{TAX_ID_DIGITS}",
    f"社会团体税号 {TAX_ID_SOCIAL}",
    "学号 10012345678",
    "编号 11012345678 和 12345678901",
    "手机号 138123456789 多打了一位",
    f"身份证号 {ID_BAD_CHECK}",
    f"身份证号 {ID_FEB_30}",
    "身份证号 990105199003071234",  # no province 99
    "卡号 6222 0212 3456 7890 127",
    "卡号 6222 0212 3456 7890 1234",  # 20 digits
    "发票号码 26112000000012345678",
    "发票代码 011002300111，发票号码 12345678",
    "课程 ID 100234，第 13 章",
    "https://example.com/a/12345678901",
    "课程链接 https://ke.example.com/course/13812345678?from=share",
    "见 example.com/orders/6222021234567890128",
    "App 版本 13.8.1234 (build 2026.12.06.1)",
    "IP 10.138.123.45",
    f"ts={TIMESTAMP_MS}",
    "score=0.13812345678",
    f"流水号 {SERIAL}",
    f"序列号 {LICENCE_KEY}",
    "快递单号 SF1381234567890",
    "commit 1a2b3c13812345678",
    "请 @客服小王 处理，或者 @afterclass",
    "手机 138****5678，邮箱 l***@qq.com，卡号 6222 **** **** 1234",
    "手机尾号 5678",
]


@pytest.mark.parametrize(("text", "masked"), POSITIVES, ids=[p[0][:24] for p in POSITIVES])
def test_personal_identifiers_are_masked(text, masked):
    assert mask(text) == masked


@pytest.mark.parametrize("text", NEGATIVES, ids=[n[:24] for n in NEGATIVES])
def test_look_alikes_are_left_as_written(text):
    assert find(text) == []
    assert mask(text) == text


def test_the_corpus_is_large_enough():
    assert len(POSITIVES) >= 25 and len(NEGATIVES) >= 25


# -- properties over the whole corpus ---------------------------------------------------------

CORPUS = [text for text, _ in POSITIVES] + NEGATIVES


@pytest.mark.parametrize("text", CORPUS)
def test_masking_twice_changes_nothing(text):
    assert mask(mask(text)) == mask(text)


def digits_of(s: str) -> str:
    return "".join(c for c in s if c.isdigit() or c in "Xx")


@pytest.mark.parametrize("text", [text for text, _ in POSITIVES])
def test_the_hidden_digits_are_gone_and_numbers_keep_their_length(text):
    masked = mask(text)
    findings = find(text)
    assert findings
    for f in findings:
        assert text[f.start : f.end] == f.original
        assert f.original not in masked
        if f.kind == "email":
            continue
        assert len(f.masked) == len(f.original)
        number = digits_of(f.original)
        keep = 6 if f.kind == "id_card" else 4 if f.kind == "bank_card" else 3
        if f.kind == "phone":
            number = number[-11:]  # after +86
        middle = number[keep:-4]
        assert digits_of(f.masked).endswith(number[:keep] + number[-4:])
        assert f.masked.count("*") == len(middle)
        assert middle not in masked.replace(" ", "").replace("-", "")


def test_find_says_what_it_found_and_where():
    text = f"手机 138-1234-5678，邮箱 li.ming@qq.com，卡号 {CARD_16}，身份证 {ID_WITH_X}"
    found = find(text)
    assert [(f.kind, f.original, f.masked) for f in found] == [
        ("phone", "138-1234-5678", "138-****-5678"),
        ("email", "li.ming@qq.com", "l***@qq.com"),
        ("bank_card", CARD_16, "6228********5671"),
        ("id_card", ID_WITH_X, "110105********128X"),
    ]
    assert all(isinstance(f, Finding) and text[f.start : f.end] == f.original for f in found)


def test_an_id_number_that_also_passes_luhn_is_an_id_card():
    assert [f.kind for f in find(f"证件号 {ID_LANZHOU_LUHN}")] == ["id_card"]


# -- the helpers ------------------------------------------------------------------------------


def test_luhn():
    assert luhn_ok(VISA) and luhn_ok(CARD_19)
    assert not luhn_ok(CARD_BAD_LUHN)
    assert not luhn_ok("") and not luhn_ok("4111 1111 1111 1111") and not luhn_ok("４１１１")


def test_id_card_check():
    assert id_card_ok(ID_CHAOYANG) and id_card_ok(ID_WITH_X) and id_card_ok(ID_SHENZHEN)
    assert not id_card_ok(ID_BAD_CHECK)
    assert not id_card_ok(ID_FEB_30)
    assert not id_card_ok("990105199003071234")  # no province 99
    assert not id_card_ok(TAX_ID) and not id_card_ok(ID_CHAOYANG[:17])
    first17 = "11010518500307123"  # born 1850
    assert not id_card_ok(first17 + gb11643_check(first17))


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("138 1234 5678", "138 **** 5678"),
        ("+86 138-1234-5678", "+86 138-****-5678"),
        ("008613812345678", "0086138****5678"),
        ("12345", "12345"),
    ],
)
def test_mask_phone(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize("email", ["li.ming@qq.com", "a@b.cn", "not an email"])
def test_mask_email_matches_what_the_bot_already_shows(email):
    assert mask_email(email) == wording_mask_email(email)


def test_the_package_imports_nothing_from_the_project():
    root = Path(__file__).resolve().parents[2]
    project = {p.name for p in root.iterdir() if (p / "__init__.py").exists()} - {"privacy"}
    for path in (root / "privacy").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not {n.split(".")[0] for n in names} & project, path


@pytest.mark.parametrize("blob", ["a" * 20_000, "1" * 20_000, "x-" * 10_000, "a." * 10_000])
def test_a_long_blob_in_a_log_is_read_in_linear_time(blob):
    started = time.perf_counter()
    assert mask(blob) == blob
    assert time.perf_counter() - started < 1  # quadratic scanning took seconds here
