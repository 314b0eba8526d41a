"""The rules of polls.

- Single choice takes exactly one option, multiple choice one or more;
  options must belong to the poll (422 otherwise).
- A new vote replaces the voter's ballot; the database keeps one ballot
  per voter and poll, also under concurrent votes (see poll_store.py).
- A poll is closed once its creator closes it (others get 403) or once its
  `closes_at` has passed; a vote on a closed poll is 409.
- Anonymous polls never show who voted, in answers or in events.
- Every change is broadcast to the conversation: poll.created,
  poll.updated (after each vote), poll.closed. For a deadline, the instance
  that created the poll closes it when the time comes (the poll counts as
  closed from `closes_at` on regardless, so a restart loses only the event).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import uuid
from datetime import UTC, datetime

from secureconnect.chat.events import POLL_CLOSED, POLL_CREATED, POLL_UPDATED
from secureconnect.chat.fanout import EventBus
from secureconnect.chat.poll_store import Poll, PollOption, PollStore, PollTally, PollView
from secureconnect.chat.schemas import CreatePoll, poll_out
from secureconnect.common.clock import Clock
from secureconnect.common.errors import DomainError

log = logging.getLogger(__name__)

#: Longest a deadline may lie ahead, seconds.
MAX_POLL_DURATION_S = 366 * 24 * 3600.0
#: Longest the deadline task sleeps before looking again, seconds.
DEADLINE_CHECK_MAX_S = 60.0


def poll_not_found() -> DomainError:
    return DomainError(404, "poll_not_found", "poll not found")


class PollService:
    def __init__(self, store: PollStore, bus: EventBus, clock: Clock) -> None:
        self.store = store
        self.bus = bus
        self.clock = clock
        self._deadlines: list[tuple[float, uuid.UUID, uuid.UUID]] = []
        self._deadline_added = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now(), UTC)

    def is_closed(self, poll: Poll) -> bool:
        return poll.closed_at is not None or (
            poll.closes_at is not None and poll.closes_at <= self.now()
        )

    def view(self, tally: PollTally) -> PollView:
        return PollView(tally, self.is_closed(tally.poll))

    async def create(
        self, user_id: uuid.UUID, conversation_id: uuid.UUID, request: CreatePoll
    ) -> PollView:
        if len({text.casefold() for text in request.options}) != len(request.options):
            raise DomainError(422, "duplicate_options", "poll options must be distinct")
        closes_at = request.closes_at
        if closes_at is not None:
            if closes_at.tzinfo is None:
                raise DomainError(422, "invalid_closes_at", "closes_at needs a time zone (UTC)")
            ahead_s = (closes_at - self.now()).total_seconds()
            if not 0 < ahead_s <= MAX_POLL_DURATION_S:
                raise DomainError(
                    422, "invalid_closes_at", "closes_at must be in the future, within a year"
                )
        draft = Poll(
            id=uuid.uuid4(),
            conversation_id=conversation_id,
            creator_id=user_id,
            question=request.question,
            multiple_choice=request.multiple_choice,
            anonymous=request.anonymous,
            closes_at=closes_at,
            closed_at=None,
            created_at=self.now(),
            options=tuple(PollOption(uuid.uuid4(), text) for text in request.options),
        )
        tally = await self.store.create(user_id, draft)
        if tally is None:
            raise DomainError(404, "conversation_not_found", "conversation not found")
        if closes_at is not None:
            self._schedule(closes_at.timestamp(), draft.id, user_id)
        return self._broadcast(POLL_CREATED, tally)

    async def get(self, user_id: uuid.UUID, poll_id: uuid.UUID) -> PollView:
        tally = await self.store.tally(user_id, poll_id)
        if tally is None:
            raise poll_not_found()
        return self.view(tally)

    async def vote(
        self, user_id: uuid.UUID, poll_id: uuid.UUID, option_ids: list[uuid.UUID]
    ) -> PollView:
        chosen = list(dict.fromkeys(option_ids))

        def choose(poll: Poll) -> list[uuid.UUID]:
            if self.is_closed(poll):
                raise DomainError(409, "poll_closed", "the poll is closed")
            known = {o.id for o in poll.options}
            if not set(chosen) <= known:
                raise DomainError(422, "unknown_option", "an option id is not one of this poll")
            if not poll.multiple_choice and len(chosen) != 1:
                raise DomainError(
                    422, "single_choice", "this poll takes exactly one option per ballot"
                )
            return chosen

        tally = await self.store.vote(user_id, poll_id, choose)
        if tally is None:
            raise poll_not_found()
        return self._broadcast(POLL_UPDATED, tally)

    async def close(self, user_id: uuid.UUID, poll_id: uuid.UUID) -> PollView:
        def allow(poll: Poll) -> None:
            if poll.creator_id != user_id:
                raise DomainError(403, "not_poll_creator", "only the poll's creator may close it")

        outcome = await self.store.close(user_id, poll_id, allow, self.now())
        if outcome is None:
            raise poll_not_found()
        tally, closed_now = outcome
        if closed_now:
            return self._broadcast(POLL_CLOSED, tally)
        return self.view(tally)

    def _broadcast(self, event_type: str, tally: PollTally) -> PollView:
        view = self.view(tally)
        self.bus.publish(event_type, poll_out(view).model_dump(mode="json"), tally.poll.member_ids)
        return view

    # -- deadlines -------------------------------------------------------------

    def _schedule(self, due: float, poll_id: uuid.UUID, creator_id: uuid.UUID) -> None:
        heapq.heappush(self._deadlines, (due, poll_id, creator_id))
        self._deadline_added.set()

    async def close_due(self) -> int:
        """Close the polls whose deadline has passed (as their creator); how many."""
        closed = 0
        while self._deadlines and self._deadlines[0][0] <= self.clock.now():
            _, poll_id, creator_id = heapq.heappop(self._deadlines)
            try:
                outcome = await self.store.close(creator_id, poll_id, lambda _: None, self.now())
            except DomainError as exc:  # the poll still counts as closed; only the event is lost
                log.warning("poll deadline not recorded", extra={"error": exc.message})
                continue
            if outcome is not None and outcome[1]:
                self._broadcast(POLL_CLOSED, outcome[0])
                closed += 1
        return closed

    def start(self) -> None:
        self._task = asyncio.create_task(self._close_forever(), name="poll-deadlines")

    async def _close_forever(self) -> None:
        while True:
            await self.close_due()
            wait_s = DEADLINE_CHECK_MAX_S
            if self._deadlines:
                wait_s = min(wait_s, max(0.0, self._deadlines[0][0] - self.clock.now()))
            self._deadline_added.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait_s):
                    await self._deadline_added.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
