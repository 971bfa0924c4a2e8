"""Answers shaped like the value a form asks for: a name where a name goes.

Asked for the invoice title, a learner typed "Shanghai Xinghe Information Technology Co.,
Ltd." and the NLU read it as `piracy_report` at 0.9: nothing in the training data looks like
an English company name, and its romanised place names look most like the platform names of
piracy reports (taobao, xianyu, bilibili). The form then told the learner to finish the
invoice first, and asked again. A name typed where a name is asked for is that name, whatever
another intent scores; it stays the answer unless it is a question, a cancel or a request for
a person, which are not names (`shaped_like`).

What a name looks like, per question:
- an invoice title: an organisation, by the legal form it ends with ("…有限公司", "… Co.,
  Ltd.", "Acme Tech Ltd"; a bare "公司" or "Group" only in a phrase that is no sentence), or
  a person's name ("王小丽", "Chen Jiayi", "Michael O'Connor");
- a new account value: a nickname (a short phrase that is no sentence), an email or a phone;
- the privacy flow's one-time code: digits alone.

A sentence is told by the words a request is made of: a pronoun ("我", "you", "my"), a verb
of asking ("要", "想", "请", "want", "need", "please"). A name rarely holds one; a request
nearly always does ("我要退款", "I want a refund", "cancel it").
"""

from __future__ import annotations

import re
import unicodedata

# (form, slot) -> the form's own intent, for questions whose answer is a name
VALUE_QUESTIONS = {
    ("invoice_form", "invoice_title"): "invoice_request",
    ("account_form", "account_value"): "account_update",
    ("privacy_form", "privacy_identity"): "privacy_request",
}

# legal forms that make any phrase an organisation's name
_LEGAL_FORM = re.compile(
    r"(有限(责任)?公司|股份(有限)?公司|(分|子)公司|有限合伙)\s*[)）]?\s*$|"
    r"\b(co\.?,?\s*ltd|ltd|limited|inc|incorporated|llc|l\.l\.c|llp|plc|gmbh|pte\.?\s*ltd|"
    r"pty\.?\s*ltd|corp|corporation|s\.a|s\.r\.l|b\.v|ag|kk|co)\.?\s*[)）]?\s*$",
    re.IGNORECASE,
)
# endings that name an organisation when the phrase is no sentence
_ORG_WORD = re.compile(
    r"(公司|集团|工作室|事务所|研究院|研究所|中心|学校|学院|大学|医院|协会|基金会|合作社|商行|"
    r"门市部|办事处|旅行社|出版社|杂志社|报社|银行|酒店|工厂|[厂店馆])\s*$|"
    r"\b(company|group|studio|studios|partners|associates|institute|university|college|"
    r"school|academy|foundation|association|agency|bank|hotel|hospital|clinic|lab|labs|"
    r"consulting|holdings|ventures|enterprises|trading|technologies|technology)\s*$",
    re.IGNORECASE,
)
# the words a request is made of (module doc)
_SENTENCE_ZH = re.compile(r"[我你您咱]|[要想请帮能吗呢吧啥]|怎么|可以|不用|算了|什么")
_SENTENCE_EN = re.compile(
    r"\b(i|i'm|im|i'd|i've|me|my|mine|we|our|us|you|your|it|this|that|please|pls|plz|"
    r"want|need|would|could|can|can't|cannot|how|what|why|when|where|which|help|do|does|"
    r"did|don't|is|are|was|not|no|yes|ok|okay|cancel|stop|thanks|thank)\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"[。！？!?]\s*$|[，,；;。！？!?].*[，,；;。！？!?]")
# common Chinese family names (and the compound ones), for a person's name on its own
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶"
    "程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺"
    "顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿"
    "关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华"
    "喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗"
    "瞿桂全佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝"
)
_COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容",
                      "令狐", "司徒", "夏侯", "长孙", "宇文", "轩辕", "端木", "南宫", "独孤")
_HAN = r"[\u4e00-\u9fff]"
_ZH_NAME = re.compile(rf"^{_HAN}{{1,4}}(·{_HAN}{{1,8}})?$")
_EN_NAME = re.compile(r"^[A-Z][A-Za-z'’\-]*\.?(\s+[A-Z][A-Za-z'’\-]*\.?){1,3}$")
_EMAIL = re.compile(r"^\s*[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\s*$")
_PHONE = re.compile(r"^\s*\+?[\d\s\-]{7,16}\s*$")


def _is_sentence(text: str) -> bool:
    return any(p.search(text) for p in (_SENTENCE_ZH, _SENTENCE_EN, _SENTENCE_END))


def organisation(text: str) -> bool:
    """A company's (or a school's…) name: a legal form at the end, or an organisation's word
    at the end of a phrase that is no sentence."""
    text = text.strip()
    if not 2 <= len(text) <= 100:
        return False
    if _LEGAL_FORM.search(text):
        return not _SENTENCE_END.search(text)
    return bool(_ORG_WORD.search(text)) and not _is_sentence(text)


def person(text: str) -> bool:
    """A person's name on its own: a family name and one to three characters ("王小丽",
    "欧阳娜娜"), or two to four capitalised words ("Chen Jiayi", "Michael O'Connor")."""
    text = text.strip()
    if _ZH_NAME.match(text):
        rest = next((text[len(s):] for s in _COMPOUND_SURNAMES if text.startswith(s)), None)
        if rest is None:
            rest = text[1:] if text[0] in _SURNAMES else None
        return rest is not None and 1 <= len(rest.split("·")[0]) <= 3 and not _is_sentence(text)
    return bool(_EN_NAME.match(text)) and not _is_sentence(text)


def nickname(text: str) -> bool:
    """A nickname: 2 to 20 characters that make no sentence."""
    text = text.strip()
    return 2 <= len(text) <= 20 and not _is_sentence(text) and "\n" not in text


def one_time_code(text: str) -> bool:
    """Digits typed as the code that was sent ("482913", "482 913", full width): six random
    digits read as anything, `request_human` at 0.9 among them, and a wrong try must count."""
    folded = unicodedata.normalize("NFKC", text).strip()
    return bool(re.fullmatch(r"[\d\s-]+", folded)) and 4 <= sum(c.isdigit() for c in folded) <= 8


SHAPES = {
    "privacy_identity": one_time_code,
    "invoice_title": lambda text: organisation(text) or person(text),
    "account_value": lambda text: bool(
        nickname(text) or _EMAIL.match(text) or _PHONE.match(text)
    ),
}


def shaped_like(slot: str | None, text: str) -> bool:
    """Is `text` shaped like the value `slot` asks for (module doc)?"""
    shape = SHAPES.get(slot or "")
    return bool(shape and shape(text))


def value_intent(asking: tuple[str, str] | None, text: str) -> str | None:
    """The form's own intent when `text` answers its open question with a value of the right
    shape, else None."""
    intent = VALUE_QUESTIONS.get(asking) if asking else None
    return intent if intent and shaped_like(asking[1], text) else None
