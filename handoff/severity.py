"""How serious a complaint is, from what the learner wrote and what else happened."""

import re
from dataclasses import dataclass, field

# Strong words: threats to escalate outside (regulators, lawyers, media, reviews) and
# accusations. Matched case-insensitively on the learner's own messages.
_STRONG = re.compile(
    r"骗子|骗钱|诈骗|欺诈|垃圾|12315|消协|消费者协会|工商|市场监管|律师|起诉|报警|曝光|媒体|"
    r"差评|投诉到|恶心|坑人|黑心|无良|退钱|"
    r"\bscam\w*|\bfraud\w*|\bcheat\w*|\blawyer|\bsue\b|\bpolice\b|\bterrible\b|\bworst\b|"
    r"\bdisgust\w*|rip[- ]?off|\bconsumer (?:council|association|protection)|\bregulator|"
    r"\bchargeback|\bbad review|\bunacceptable\b|\bfurious\b",
    re.I,
)


@dataclass
class Severity:
    score: int
    signals: list[str] = field(default_factory=list)

    @property
    def priority(self) -> str:
        """Every complaint is at least high priority; two signals make it urgent."""
        return "urgent" if self.score >= 2 else "high"


def assess_complaint(
    texts: list[str],
    complaints_in_conversation: int,
    refund_in_conversation: bool,
    earlier_complaints: int = 0,
) -> Severity:
    """texts: the learner's messages in this conversation, oldest first."""
    signals = []
    words = sorted({m.group(0).lower() for t in texts for m in _STRONG.finditer(t)})
    if words:
        signals.append("strong words: " + ", ".join(words[:5]))
    if complaints_in_conversation >= 2 or earlier_complaints:
        signals.append(
            f"repeated ({complaints_in_conversation} in chat, {earlier_complaints} earlier)"
        )
    if refund_in_conversation:
        signals.append("refund in the same conversation")
    if any(t.count("!") + t.count("！") >= 3 for t in texts):
        signals.append("exclamation marks")
    return Severity(len(signals), signals)
