"""The base of every `action_ask_<slot>`: forms ask through these (not domain responses)
so a question can carry buttons built from the learner's own data."""

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.context import lang_of, started_this_turn
from actions.kb import answer_before_flow
from replies import t


class AskAction(Action, ABC):
    slot: ClassVar[str]

    def name(self) -> str:
        return f"action_ask_{self.slot}"

    @abstractmethod
    def prompt(self, tracker: Tracker, lang: str) -> tuple[str, list[dict[str, str]]]:
        """The question and its buttons."""

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        lang = lang_of(tracker)
        form = (tracker.active_loop or {}).get("name")
        first_question = form and started_this_turn(tracker, form)
        if first_question and answer_before_flow(dispatcher, tracker, form):
            # they asked about the flow; it goes on only if they want it
            dispatcher.utter_message(text=t("flow_after_answer", lang))
        text, buttons = self.prompt(tracker, lang)
        dispatcher.utter_message(text=text, buttons=buttons)
        return []
