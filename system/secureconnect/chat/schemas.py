"""Request and response bodies of the chat API (see API.md), the shaping of
responses from what the services return, and the event payloads built from the
same shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from secureconnect.chat.poll_store import PollView
from secureconnect.chat.presence import PresenceView
from secureconnect.chat.store import Conversation, Message, MessagePage
from secureconnect.common.text import multi_line, single_line

#: Longest message, in characters (the migration's CHECK constraint agrees).
MAX_MESSAGE_CHARS = 4000
MAX_GROUP_PARTICIPANTS = 256
MAX_POLL_OPTIONS = 10
MAX_SEARCH_CHARS = 200


def _no_whitespace(value: str) -> str:
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ValueError("must be an emoji, without whitespace or control characters")
    return value


Content = multi_line(MAX_MESSAGE_CHARS)
ClientMsgId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
Emoji = Annotated[single_line(32, strip=False), AfterValidator(_no_whitespace)]
Title = single_line(100)
Question = single_line(300)
OptionText = single_line(100)
SearchTerms = single_line(MAX_SEARCH_CHARS)


class CreateConversation(BaseModel):
    type: Literal["direct", "group"]
    title: Title | None = None
    participant_ids: list[uuid.UUID] = Field(max_length=MAX_GROUP_PARTICIPANTS)


class ConversationOut(BaseModel):
    conversation_id: str
    type: str
    title: str | None
    participant_ids: list[str]
    created_at: datetime


class ConversationList(BaseModel):
    conversations: list[ConversationOut]


class SendMessage(BaseModel):
    content: Content
    client_msg_id: ClientMsgId


class MessageOut(BaseModel):
    message_id: str
    conversation_id: str
    sender_id: str
    client_msg_id: str
    content: str
    created_at: datetime
    #: emoji → ids of the users who reacted (history and search only).
    reactions: dict[str, list[str]] = {}


class MessageList(BaseModel):
    messages: list[MessageOut]
    #: Pass as `before` for the next (older) page; null when this was the last.
    next_before: str | None


class SearchResults(BaseModel):
    results: list[MessageOut]


class ReactionRequest(BaseModel):
    emoji: Emoji


class ReactionOut(BaseModel):
    message_id: str
    emoji: str
    user_id: str


class TypingRequest(BaseModel):
    typing: bool = True


class PresenceOut(BaseModel):
    user_id: str
    status: Literal["online", "offline"]
    last_seen: datetime | None


class CreatePoll(BaseModel):
    question: Question
    #: Distinct (case-insensitively; the schema can only say "distinct"): see polls.py.
    options: list[OptionText] = Field(
        min_length=2, max_length=MAX_POLL_OPTIONS, json_schema_extra={"uniqueItems": True}
    )
    multiple_choice: bool = False
    anonymous: bool = False
    closes_at: datetime | None = None


class VoteRequest(BaseModel):
    option_ids: list[uuid.UUID] = Field(min_length=1, max_length=MAX_POLL_OPTIONS)


class PollOptionOut(BaseModel):
    option_id: str
    text: str
    votes: int
    #: Who chose it; null for anonymous polls.
    voters: list[str] | None


class PollOut(BaseModel):
    poll_id: str
    conversation_id: str
    creator_id: str
    question: str
    options: list[PollOptionOut]
    multiple_choice: bool
    anonymous: bool
    closes_at: datetime | None
    closed: bool
    closed_at: datetime | None
    total_voters: int
    #: Everyone who voted; null for anonymous polls.
    voters: list[str] | None
    created_at: datetime


def conversation_out(conversation: Conversation) -> ConversationOut:
    return ConversationOut(
        conversation_id=str(conversation.id),
        type=conversation.type,
        title=conversation.title,
        participant_ids=[str(u) for u in conversation.member_ids],
        created_at=conversation.created_at,
    )


def message_out(
    message: Message, reactions: dict[str, list[uuid.UUID]] | None = None
) -> MessageOut:
    return MessageOut(
        message_id=str(message.id),
        conversation_id=str(message.conversation_id),
        sender_id=str(message.sender_id),
        client_msg_id=message.client_msg_id,
        content=message.content,
        created_at=message.created_at,
        reactions={e: [str(u) for u in users] for e, users in (reactions or {}).items()},
    )


def conversation_list(found: list[Conversation]) -> ConversationList:
    return ConversationList(conversations=[conversation_out(c) for c in found])


def messages_out(page: MessagePage) -> list[MessageOut]:
    return [message_out(m, page.reactions.get(m.id)) for m in page.messages]


def message_list(page: MessagePage) -> MessageList:
    next_before = None if page.next_before is None else str(page.next_before)
    return MessageList(messages=messages_out(page), next_before=next_before)


def presence_out(view: PresenceView) -> PresenceOut:
    event = view.as_event()
    return PresenceOut.model_validate(event)


def poll_out(view: PollView) -> PollOut:
    tally, poll = view.tally, view.tally.poll
    options = [
        PollOptionOut(
            option_id=str(o.id),
            text=o.text,
            votes=tally.votes.get(o.id, 0),
            voters=None if poll.anonymous else [str(u) for u in tally.voters.get(o.id, [])],
        )
        for o in poll.options
    ]
    return PollOut(
        poll_id=str(poll.id),
        conversation_id=str(poll.conversation_id),
        creator_id=str(poll.creator_id),
        question=poll.question,
        options=options,
        multiple_choice=poll.multiple_choice,
        anonymous=poll.anonymous,
        closes_at=poll.closes_at,
        closed=view.closed,
        closed_at=poll.closed_at,
        total_voters=tally.total_voters,
        voters=None
        if poll.anonymous
        else sorted({str(u) for users in tally.voters.values() for u in users}),
        created_at=poll.created_at,
    )
