"""The base of every `action_ask_<slot>`: forms ask through these (not domain responses)
so a question can carry buttons built from the learner's own data."""

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.context import lang_of


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
        text, buttons = self.prompt(tracker, lang_of(tracker))
        dispatcher.utter_message(text=text, buttons=buttons)
        return []
