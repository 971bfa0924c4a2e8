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

config.yml::

    - name: rasa_addons.option_guard.OptionGuard
      escapes: [request_human, deny]
      soft: [deny, request_human]
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


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class OptionGuard(GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"escapes": ["request_human", "deny"], "soft": ["deny", "request_human"]}

    def __init__(self, config: dict[str, Any]) -> None:
        self._skip = set(config["escapes"]) | {DEFAULT_NLU_FALLBACK_INTENT_NAME}
        self._soft = set(config["soft"])  # escapes a free-text answer may read as

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
            if isinstance(read_as, str) and read_as:
                taken = {**intent, INTENT_NAME_KEY: read_as}
                rest = [r for r in message.get(INTENT_RANKING_KEY) or []
                        if r.get(INTENT_NAME_KEY) != read_as]
                message.set(INTENT, taken, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [taken, *rest], add_to_output=True)
            elif metadata.get(OPTION_FLAG) and name in self._skip:
                ranking = [r for r in message.get(INTENT_RANKING_KEY) or []
                           if r.get(INTENT_NAME_KEY) not in self._skip]
                if ranking:
                    message.set(INTENT, ranking[0], add_to_output=True)
                    message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
            elif isinstance(answer, str) and answer and name in self._soft:
                taken = {**intent, INTENT_NAME_KEY: answer}
                rest = [r for r in message.get(INTENT_RANKING_KEY) or []
                        if r.get(INTENT_NAME_KEY) not in (answer, name)]
                message.set(INTENT, taken, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [taken, *rest], add_to_output=True)
        return messages
