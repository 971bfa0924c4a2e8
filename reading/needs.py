"""What a message asks for besides what the NLU reads first: a technical fault it names (and
which troubleshooting guide fixes it), and an explicit request to complain.

A learner often says two things at once. "课程视频一直在转圈圈，就是放不出来" is a playback
fault told in complaint words; the NLU weighs the mood and reads `complaint`. "I want to file
a complaint: the app crashes every time I open a lesson" asks for a complaint about a fault;
the NLU weighs the fault and reads `playback_problem`. An experienced agent does what each
message asks: fixes the fault first when it is only told angrily, and files the complaint
when one is asked for (offering the fix as well). So the hub reads both needs from the words
(rasa_addons/option_guard.py applies them), and the complaint flow reads the same fault to
file it for the tech team and offer its guide.

A fault is a thing that does not work ("转圈", "黑屏", "登不上", "won't load", "crashes",
"the code never arrives"), not a topic: "视频讲得太差" names the video but no fault. Payment
troubles are billing's, not a technical fault, and are left to the NLU.
"""

from __future__ import annotations

import re

# the guides (data/troubleshooting.yml) a technical fault opens, first match wins: a login
# fault, then a course that cannot be found, then anything about playing (the app included)
_FAULTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "login_problem",
        re.compile(
            r"登[录陆入]?不[上进了]|登[录陆入]\S{0,4}(失败|不了|不上|不进|异常|出错|报错)|"
            r"(无法|没法|不能)登[录陆入]|收不到(短信|验证码)|验证码\S{0,8}(收不到|没收到|不来|没来|"
            r"错误|不对|无效|过期|失效)|(短信|验证码)\S{0,4}(一直)?(没有?|不)(收到|来)|"
            r"密码\S{0,6}(错误|不对|错了)|忘[了记]密码|[被老总一]\S{0,3}[踢挤](出|下线|掉)|"
            r"踢(出来|下线|掉了)|挤下线|账号\S{0,4}(被锁|锁了|锁定|冻结)|"
            r"\b(can'?t|cannot|can not|unable to|couldn'?t|won'?t let me)\s+"
            r"(log|sign)\s*-?\s*(in|on)\b|"
            r"\b(log|sign)\s*-?\s*in\s+(fails|failed|failing|error|doesn'?t work|isn'?t working|"
            r"not working|problems?)\b|\blogin\s+(fails|failed|error|doesn'?t work|not working)\b|"
            r"\b(verification|sms|login|text)\s+codes?\b|"
            r"\b(kicks?|kicked|kicking|logs?|logged|logging|throws?)\s+me\s+out\b|"
            r"\blocked\s+out\b|\baccount\s+(is\s+)?(locked|frozen)\b|\bforgot\s+(my\s+)?password\b|"
            r"\bpassword\s+(is\s+)?(wrong|rejected|incorrect|not working|doesn'?t work)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "course_access",
        re.compile(
            r"(找不到|看不到|不见了|没有了|消失了?)\S{0,4}(买的|已购|购买的|付了钱的|付款的)?\S{0,4}课|"
            r"(买的|买过的|已购|购买的|付了钱的|付过钱的|付款的|付费的)\S{0,6}课\S{0,8}(找不到|看不到|不见|没了|消失|"
            r"没有|不在)|课程列表\S{0,4}(是?空|没有)|"
            r"\bcan'?t\s+(find|see)\s+(the|my|a)\s+(\w+\s+)?(course|class)(es)?\b|"
            r"\b(course|class)(es)?\s+(i\s+(bought|paid for|purchased)\s+)?(is|are)\s+"
            r"(missing|gone|not there|not showing)|"
            r"\b(isn'?t|aren'?t|not|never)\s+(showing\s+(up\s+)?)?(in|on)\s+my\s+"
            r"(list|courses|account|library)\b|\b(disappeared|vanished|missing)\s+from\s+my\b",
            re.IGNORECASE,
        ),
    ),
    (
        "playback_problem",
        re.compile(
            r"转圈|缓冲|加载(不|失败|半天|中|很慢|太慢|好慢|了\S{0,6}[还都也])|一直(在)?加载|空白|"
            r"卡顿|卡住|卡死|卡得|"
            r"(很|好|太|特别|一直|老是|总是|有点)卡|一卡一卡|黑屏|白屏|花屏|"
            r"(没|没有|无)(声音|画面|声)|声音\S{0,3}(没了|没有|不出)|闪退|崩溃|"
            r"[打点]不开|[打点]开就|播(放)?不(了|出|动)|放不(了|出|动)|(不|没法|无法|不能)播放|"
            r"播放(失败|不了|出错|报错|异常)|进度条\S{0,4}(不动|卡)|(自动|自己)退出|"
            r"画面\S{0,4}(卡|不动|定住)|(出不来|看不了)|"
            r"\bbuffer(s|ing|ed)?\b|\bkeeps?\s+(loading|spinning|buffering|freezing)\b|"
            r"\b(won'?t|doesn'?t|didn'?t|does not|will not|never|can'?t|cannot)\s+"
            r"(finish(es)?\s+)?(load|play|start|open)(ing)?\b|"
            r"\b(not|isn'?t|aren'?t)\s+(loading|playing|opening)\b|"
            r"\b(stops?|stopped|stopping)\s+(loading|playing|working)\b|"
            r"\b(fails?|failed|unable)\s+to\s+(load|play|open)\b|"
            r"\bblack\s+screen\b|\b(no|without|lost)\s+(sound|audio)\b|"
            r"\bcrash(es|ed|ing)?\b|\b(freeze|freezes|froze|frozen|freezing)\b|"
            r"\bstutter(s|ing)?\b|\blag(s|gy|ging)?\b|\bspin(s|ning)?\b|\bstuck\s+(at|on)\b|"
            r"\b(closes|quits|shuts)\s+(itself|down|by itself)\b|\bunwatchable\b|"
            r"\bplayback\s+(error|problem|issue|fails?)\b",
            re.IGNORECASE,
        ),
    ),
)

# asking to complain: "我要投诉", "投诉！", "I want to file a complaint", "I wish to complain";
# not a complaint denied ("不是投诉", "I'm not complaining") nor a piracy report (侵权投诉)
_COMPLAIN = re.compile(
    r"投诉|\bcomplain(s|ed|ing)?\b|\bcomplaints?\b|\bgrievance\b", re.IGNORECASE
)
_NOT_A_COMPLAINT = re.compile(
    r"(不|别|没|非|无|不是|不想|不要|不用|不必|没有|并非|取消)\S{0,2}投诉|"
    r"(侵权|版权|盗版)投诉|投诉(盗版|侵权)|"
    r"\b(not|n't|never|no)\s+(\w+\s+){0,2}(complain\w*|complaints?)\b|"
    r"\bno\s+complaints?\b|\bcomplaints?\s+(process|policy|procedure)\b",
    re.IGNORECASE,
)


def tech_problem(text: str) -> str | None:
    """The troubleshooting guide for the technical fault `text` names, if it names one."""
    return next((topic for topic, words in _FAULTS if words.search(text)), None)


def asks_to_complain(text: str) -> bool:
    """Whether the learner asks to complain (a complaint named and not denied)."""
    return bool(_COMPLAIN.search(text)) and not _NOT_A_COMPLAINT.search(text)


def needs(text: str) -> dict[str, object]:
    """The reading of both needs, as the hub sends it to Rasa: `tech_problem` (the guide's
    intent) when a fault is named, `complain` when a complaint is asked for."""
    out: dict[str, object] = {}
    if topic := tech_problem(text):
        out["tech_problem"] = topic
    if asks_to_complain(text):
        out["complain"] = True
    return out
