"""The rules of conversations, messages, reactions, search, typing and presence.

Authorization: every operation on a conversation first establishes that the
caller is a participant, and answers 404 (never 403) when not, so ids of
other people's conversations reveal nothing. Row-level security in the
database enforces the same rule a second time (see store.py).

Messages are acknowledged (201) only after the commit; a send repeated with
the same client_msg_id returns the stored message, so retries never
duplicate. Events are published after the commit, to the participants.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime

from secureconnect.chat.events import MESSAGE_NEW, REACTION_ADDED, REACTION_REMOVED
from secureconnect.chat.fanout import EventBus
from secureconnect.chat.metrics import MESSAGES
from secureconnect.chat.presence import PresenceService, PresenceView
from secureconnect.chat.schemas import message_out
from secureconnect.chat.store import (
    Conversation,
    ConversationStore,
    Message,
    MessagePage,
    MessageStore,
    SentMessage,
    client_msg_id_reused,
)
from secureconnect.chat.typing_indicator import TypingService
from secureconnect.common.clock import Clock
from secureconnect.common.errors import DomainError

log = logging.getLogger(__name__)

HISTORY_PAGE_DEFAULT = 50
HISTORY_PAGE_MAX = 100
SEARCH_RESULTS_MAX = 50
CONVERSATION_LIST_MAX = 500
#: How long a conversation's participant list is reused for typing signals, seconds.
MEMBERS_CACHE_S = 30.0
MEMBERS_CACHE_LIMIT = 50_000


def not_found(what: str) -> DomainError:
    return DomainError(404, f"{what}_not_found", f"{what.replace('_', ' ')} not found")


def direct_key(a: uuid.UUID, b: uuid.UUID) -> str:
    low, high = sorted((str(a), str(b)))
    return f"{low}:{high}"


class ChatService:
    def __init__(
        self,
        conversations: ConversationStore,
        messages: MessageStore,
        bus: EventBus,
        typing: TypingService,
        presence: PresenceService,
        clock: Clock,
        service: str,
    ) -> None:
        self.conversations = conversations
        self.messages = messages
        self.bus = bus
        self.typing = typing
        self.presence = presence
        self.clock = clock
        self.service = service
        self._members: dict[tuple[uuid.UUID, uuid.UUID], tuple[float, frozenset[uuid.UUID]]] = {}

    # -- conversations ---------------------------------------------------------

    async def create_conversation(
        self, user_id: uuid.UUID, kind: str, title: str | None, participant_ids: list[uuid.UUID]
    ) -> Conversation:
        members = list(dict.fromkeys([user_id, *participant_ids]))
        key = None
        if kind == "direct":
            if len(members) != 2:
                raise DomainError(
                    422, "invalid_participants", "a direct conversation has exactly one other user"
                )
            key = direct_key(*members)
        draft = Conversation(uuid.uuid4(), kind, title, user_id, tuple(members), self._epoch())
        conversation, _ = await self.conversations.create(user_id, draft, key)
        return conversation

    async def list_conversations(self, user_id: uuid.UUID) -> list[Conversation]:
        return await self.conversations.list_for(user_id, CONVERSATION_LIST_MAX)

    async def conversation(self, user_id: uuid.UUID, conversation_id: uuid.UUID) -> Conversation:
        found = await self.conversations.get(user_id, conversation_id)
        if found is None:
            raise not_found("conversation")
        self._remember_members(user_id, found.id, found.member_ids)
        return found

    async def members(self, user_id: uuid.UUID, conversation_id: uuid.UUID) -> frozenset[uuid.UUID]:
        """The participants, if the user is one (cached briefly); else 404."""
        cached = self._members.get((conversation_id, user_id))
        if cached is not None and cached[0] > self.clock.monotonic():
            return cached[1]
        return frozenset((await self.conversation(user_id, conversation_id)).member_ids)

    def _remember_members(
        self, user_id: uuid.UUID, conversation_id: uuid.UUID, members: tuple[uuid.UUID, ...]
    ) -> None:
        if len(self._members) >= MEMBERS_CACHE_LIMIT:
            self._members.clear()
        expires = self.clock.monotonic() + MEMBERS_CACHE_S
        self._members[(conversation_id, user_id)] = (expires, frozenset(members))

    # -- messages --------------------------------------------------------------

    async def send_message(
        self, user_id: uuid.UUID, conversation_id: uuid.UUID, content: str, client_msg_id: str
    ) -> SentMessage:
        draft = Message(
            uuid.uuid4(), conversation_id, user_id, client_msg_id, content, self._epoch()
        )
        sent = await self.messages.send(draft)
        if sent is None:
            raise not_found("conversation")
        if sent.message.conversation_id != conversation_id or sent.message.content != content:
            raise client_msg_id_reused()
        MESSAGES.labels(self.service, "created" if sent.created else "replayed").inc()
        if sent.created:
            await self.typing.stopped(conversation_id, user_id, sent.member_ids)
            payload = message_out(sent.message).model_dump(mode="json", exclude={"reactions"})
            self.bus.publish(MESSAGE_NEW, payload, sent.member_ids)
        return sent

    async def history(
        self,
        user_id: uuid.UUID,
        conversation_id: uuid.UUID,
        before: uuid.UUID | None,
        limit: int,
    ) -> MessagePage:
        page = await self.messages.history(user_id, conversation_id, before, limit)
        if page is None:
            raise not_found("conversation")
        return page

    async def search(self, user_id: uuid.UUID, terms: str, limit: int) -> MessagePage:
        return await self.messages.search(user_id, terms, limit)

    # -- reactions -------------------------------------------------------------

    async def react(self, user_id: uuid.UUID, message_id: uuid.UUID, emoji: str, add: bool) -> None:
        change = await self.messages.react(user_id, message_id, emoji, add)
        if change is None:
            raise not_found("message")
        if not change.changed:
            return
        event = {
            "message_id": str(message_id),
            "conversation_id": str(change.conversation_id),
            "user_id": str(user_id),
            "emoji": emoji,
        }
        self.bus.publish(REACTION_ADDED if add else REACTION_REMOVED, event, change.member_ids)

    # -- typing and presence ---------------------------------------------------

    async def signal_typing(
        self, user_id: uuid.UUID, conversation_id: uuid.UUID, typing: bool
    ) -> None:
        members = await self.members(user_id, conversation_id)
        if typing:
            await self.typing.started(conversation_id, user_id, members)
        else:
            await self.typing.stopped(conversation_id, user_id, members)

    async def presence_of(self, user_id: uuid.UUID, other_id: uuid.UUID) -> PresenceView:
        """Presence of yourself or of someone you share a conversation with; else 404."""
        if other_id != user_id and not await self.conversations.shares_conversation(
            user_id, other_id
        ):
            raise not_found("user")
        return await self.presence.status(other_id)

    def _epoch(self) -> datetime:
        """A provisional timestamp for drafts; the database sets the stored one."""
        return datetime.fromtimestamp(self.clock.now(), UTC)
