"""A tapped option is an answer, never a request to leave a form.

Form questions offer buttons whose payload is a plain value: an order id, "company", a refund
reason such as "买错了". The hub sends that value as the message text, so the NLU pipeline
classifies it like anything a learner types. The forms' slot mappings take free text from
every intent except the two escapes, ``request_human`` and ``deny`` (domain.yml), so a
learner can type "人工" or "算了" mid-form and get out. A bare option word, out of any
sentence, can land on an escape ("company" -> request_human, "买错了" -> deny), and the tap
would then cancel the form or hand over to a person.

The hub marks those taps in the message metadata (``option: true``; reading.Reading.metadata).
For them this component, placed after the classifiers and FallbackClassifier, takes the best
intent that is not an escape or ``nlu_fallback`` from the ranking. Buttons that carry an intent
(``/request_human``, a KB pick) start with "/" and are never marked, so a "talk to a person"
button still works. Typed messages are never touched, with the two exceptions below.

Typed answers can read as an escape too: asked why they want a refund, learners write
"不需要了", "没什么用" or "don't need it anymore", all `deny`; asked whom an invoice is for,
"for a company" reads as `request_human`. For questions like these the hub names the flow's
intent in ``answer_intent`` (reading.answer_intent), unless the text says to stop ("算了",
"cancel") or names a person ("人工", "human"); a soft escape then becomes that intent, so
the form takes the text as its answer. Other intents are left alone, so a question typed
there is still answered.

A message that is nothing but the name of one of the learner's courses, typed where no form
asks anything ("Data Analysis", "数据分析"), reads to the NLU as whatever the name's words
suggest: `privacy_request` at 0.5 for those two, which started a data export or deletion. The
hub knows the learner's orders and names it in ``read_as`` (``ask_question``); that intent
is taken whatever the NLU read, and the KB action shows the course's order.

A value of the shape a form's question asks for ("Shanghai Xinghe Information Technology Co.,
Ltd." at the invoice title, read as `piracy_report` at 0.9; "Zhang Wei" as `request_human` at
0.95) is that answer: the hub names the form's intent in ``value_intent``
(reading.value_answer), taken over any intent but the ``stops`` (a "no" the NLU hears better
than a pattern: "不改了"). A request for a person is never shaped like a name: the hub reads
it from the words ("人工", "human") and sends no ``value_intent`` for it.

Two needs in one message, where no form asks anything (reading.needs): a technical fault told
in complaint words ("课程视频一直在转圈圈，就是放不出来", `complaint` 0.50) is read as the
guide the hub names in ``tech_problem`` (over the intents in ``tech_over``: the complaint,
a message out of scope, the NLU's "no idea"), so the fault is fixed first; an explicit request to
complain (``complain``) is read as ``complaint`` when the NLU read one of the intents in
``complaint_over`` (a guide's, a question, nothing), and the complaint flow offers the guide
too. The intent read first stays in the ranking and is named in the new intent's
``read_from``, so the flows can say what became of it.

config.yml::

    - name: rasa_addons.option_guard.OptionGuard
      escapes: [request_human, deny]
      soft: [deny, request_human]
      stops: [deny]
      complaint: complaint
      complaint_over: [login_problem, playback_problem, course_access, ask_question, ...]
      tech_over: [complaint, out_of_scope]
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY
from rasa.shared.nlu.training_data.message import Message

METADATA_KEY = "metadata"
OPTION_FLAG = "option"
ANSWER_KEY = "answer_intent"
READ_AS_KEY = "read_as"
VALUE_KEY = "value_intent"
TECH_KEY = "tech_problem"
COMPLAIN_KEY = "complain"
READ_FROM_KEY = "read_from"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class OptionGuard(GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "escapes": ["request_human", "deny"],
            "soft": ["deny", "request_human"],
            "stops": ["deny"],
            "complaint": "complaint",
            "complaint_over": [],
            "tech_over": ["complaint"],
        }

    def __init__(self, config: dict[str, Any]) -> None:
        self._skip = set(config["escapes"]) | {DEFAULT_NLU_FALLBACK_INTENT_NAME}
        self._stops = set(config["stops"])  # what a value typed at a form never overrides
        self._soft = set(config["soft"])  # escapes a free-text answer may read as
        self._complaint = config["complaint"]
        # what an explicit request to complain overrides (and the NLU's "no idea")
        self._complaint_over = set(config["complaint_over"]) | {DEFAULT_NLU_FALLBACK_INTENT_NAME}
        # what a named technical fault overrides when no complaint is asked for
        self._tech_over = set(config["tech_over"]) | {DEFAULT_NLU_FALLBACK_INTENT_NAME}

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> OptionGuard:
        return cls(config)

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            metadata = message.get(METADATA_KEY) or {}
            intent = message.get(INTENT) or {}
            name = intent.get(INTENT_NAME_KEY)
            answer = metadata.get(ANSWER_KEY)
            read_as = metadata.get(READ_AS_KEY)
            value = metadata.get(VALUE_KEY)
            tech = metadata.get(TECH_KEY)
            complain = bool(metadata.get(COMPLAIN_KEY))
            if isinstance(read_as, str) and read_as:
                _take(message, read_as)
            elif metadata.get(OPTION_FLAG) and name in self._skip:
                ranking = [r for r in message.get(INTENT_RANKING_KEY) or []
                           if r.get(INTENT_NAME_KEY) not in self._skip]
                if ranking:
                    message.set(INTENT, ranking[0], add_to_output=True)
                    message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
            elif isinstance(answer, str) and answer and name in self._soft:
                _take(message, answer, drop_read=True)
            elif isinstance(value, str) and value and name not in self._stops:
                _take(message, value)
            elif complain and name in self._complaint_over:
                _take(message, self._complaint)
            elif isinstance(tech, str) and tech and name in self._tech_over and not complain:
                _take(message, tech)
        return messages


def _take(message: Message, name: str, drop_read: bool = False) -> None:
    """Read `message` as intent `name`, with the confidence the NLU gave its first reading,
    which is named in `read_from` and stays in the ranking (unless `drop_read`)."""
    intent = message.get(INTENT) or {}
    first = intent.get(INTENT_NAME_KEY)
    if first == name:
        return
    taken = {**intent, INTENT_NAME_KEY: name, READ_FROM_KEY: first}
    dropped = (name, first) if drop_read else (name,)
    rest = [r for r in message.get(INTENT_RANKING_KEY) or []
            if r.get(INTENT_NAME_KEY) not in dropped]
    message.set(INTENT, taken, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [taken, *rest], add_to_output=True)
