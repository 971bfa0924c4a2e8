"""Ids suggested for entries made from unanswered questions: permanent and in learners'
/help/<id> links, so a Chinese question gets readable pinyin, not "zh-question"."""

import sys

import pytest

from kb_index import Entry
from kb_index import store as kb_store
from kb_index.slug import suggest_base
from kb_index.store import free_id as _suggest_id


@pytest.mark.parametrize(
    "lang, question, slug",
    [
        # filler (能不能, 给, 怎么, 吗, 请问, 我的, 在哪里) dropped; words in toneless pinyin
        ("zh", "会员能不能共享给家人", "zh-huiyuan-gongxiang-jiaren"),
        ("zh", "请问我的证书在哪里下载？", "zh-zhengshu-xiazai"),
        # a word jieba does not know (花呗 -> 花 / 呗) stays one word
        ("zh", "怎么开通花呗分期", "zh-kaitong-huabei-fenqi"),
        # ...even after a verb jieba's guesses glued it to (用花 / 呗 gave yonghua-bei)
        ("zh", "课程可以用花呗分期付款吗", "zh-kecheng-huabei-fenqifukuan"),
        ("zh", "能用花呗吗", "zh-huabei"),
        # a few words at most
        ("zh", "退款申请提交以后多久可以到账户余额里", "zh-tuikuan-shenqing-tijiao-yihou"),
        # mixed: the latin words stay, full-width ones too
        ("zh", "iPhone app 登不上去怎么办", "zh-iphone-app-dengbu-shangqu"),
        ("zh", "ＶＩＰ会员多少钱", "zh-vip-huiyuan-duoshao-qian"),
        # English as before: every word as typed
        ("en", "How do I pay with bitcoin?", "en-how-do-i-pay-with-bitcoin"),
        ("en", "bitcoin payment?", "en-bitcoin-payment"),
        # nothing but filler: the filler is still better than a numbered id
        ("zh", "怎么办呢？", "zh-zenmeban-ne"),
        ("zh", "？？", "zh-question"),
    ],
)
def test_suggested_ids_read_as_the_question(lang, question, slug):
    assert suggest_base(lang, question) == slug


def test_without_pypinyin_only_latin_words_count(monkeypatch):
    monkeypatch.setitem(sys.modules, "pypinyin", None)  # import pypinyin -> ImportError
    assert suggest_base("zh", "会员能不能共享给家人") == "zh-question"
    assert suggest_base("zh", "iPhone app 登不上去") == "zh-iphone-app"


def test_a_suggested_id_is_unique_among_entries_and_other_suggestions(database):
    with database.write() as conn:
        question = "会员能不能共享给家人"
        assert _suggest_id(conn, "zh", question) == "zh-huiyuan-gongxiang-jiaren"
        kb_store.save_entry(
            conn,
            Entry(id="zh-huiyuan-gongxiang-jiaren", lang="zh", question=question, answer="能"),
            "x",
        )
        assert _suggest_id(conn, "zh", question) == "zh-huiyuan-gongxiang-jiaren-2"
        taken = {"zh-huiyuan-gongxiang-jiaren-2"}
        assert (
            _suggest_id(conn, "zh", "会员可以共享给家人吗", taken)
            == "zh-huiyuan-gongxiang-jiaren-3"
        )
        # every suggestion passes the editor's id rules
        from kb_index.entries import EntryIn

        EntryIn(id=_suggest_id(conn, "zh", "？？"), lang="zh", question="？？", answer="a")
