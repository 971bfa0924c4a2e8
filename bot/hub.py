"""The hub's live parts, built once at start-up and shared by the routes: the outbox every
message goes out through, the router for learner messages, presence of learners' chat pages,
and the ticket operations of agents and learners."""

from dataclasses import dataclass

import handoff
from bot.broadcast import Broadcaster
from bot.db import Database
from bot.outbox import Outbox
from bot.presence import Presence
from bot.rasa_client import RasaClient
from bot.router import Router
from bot.ticket_ops import TicketOps
from course_platform import CoursePlatform


@dataclass
class Hub:
    db: Database
    broadcaster: Broadcaster
    outbox: Outbox
    router: Router
    presence: Presence
    tickets: TicketOps

    @classmethod
    def build(
        cls,
        db: Database,
        rasa: RasaClient,
        broadcaster: Broadcaster,
        hours: handoff.BusinessHours,
        platform: CoursePlatform | None = None,
    ) -> "Hub":
        outbox = Outbox(broadcaster)
        return cls(
            db=db,
            broadcaster=broadcaster,
            outbox=outbox,
            router=Router(db, outbox, rasa, hours, platform),
            presence=Presence(broadcaster),
            tickets=TicketOps(outbox, hours),
        )

    @property
    def rasa(self) -> RasaClient:
        return self.router.rasa

    async def aclose(self) -> None:
        await self.router.aclose()
