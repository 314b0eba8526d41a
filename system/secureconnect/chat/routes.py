"""HTTP routes of conversations, messages, reactions, search, typing and presence."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from secureconnect.chat.deps import ChatServiceDep
from secureconnect.chat.schemas import (
    ConversationList,
    ConversationOut,
    CreateConversation,
    Emoji,
    MessageList,
    MessageOut,
    PresenceOut,
    ReactionOut,
    ReactionRequest,
    SearchResults,
    SearchTerms,
    SendMessage,
    TypingRequest,
    conversation_list,
    conversation_out,
    message_list,
    message_out,
    messages_out,
    presence_out,
)
from secureconnect.chat.service import (
    HISTORY_PAGE_DEFAULT,
    HISTORY_PAGE_MAX,
    SEARCH_RESULTS_MAX,
)
from secureconnect.common.deps import CurrentUser
from secureconnect.common.openapi import errors

router = APIRouter(prefix="/api/v1")


@router.post("/conversations", status_code=201)
async def create_conversation(
    body: CreateConversation, user: CurrentUser, chat: ChatServiceDep
) -> ConversationOut:
    conversation = await chat.create_conversation(user, body.type, body.title, body.participant_ids)
    return conversation_out(conversation)


@router.get("/conversations")
async def list_conversations(user: CurrentUser, chat: ChatServiceDep) -> ConversationList:
    return conversation_list(await chat.list_conversations(user))


@router.get("/conversations/{conversation_id}")
async def get_conversation(
    conversation_id: uuid.UUID, user: CurrentUser, chat: ChatServiceDep
) -> ConversationOut:
    return conversation_out(await chat.conversation(user, conversation_id))


@router.post("/conversations/{conversation_id}/messages", status_code=201, responses=errors(409))
async def send_message(
    conversation_id: uuid.UUID, body: SendMessage, user: CurrentUser, chat: ChatServiceDep
) -> MessageOut:
    sent = await chat.send_message(user, conversation_id, body.content, body.client_msg_id)
    return message_out(sent.message)


@router.get("/conversations/{conversation_id}/messages", responses=errors(400))
async def message_history(
    conversation_id: uuid.UUID,
    user: CurrentUser,
    chat: ChatServiceDep,
    limit: Annotated[int, Query(ge=1, le=HISTORY_PAGE_MAX)] = HISTORY_PAGE_DEFAULT,
    before: uuid.UUID | None = None,
) -> MessageList:
    return message_list(await chat.history(user, conversation_id, before, limit))


@router.post("/messages/{message_id}/reactions", status_code=201)
async def add_reaction(
    message_id: uuid.UUID, body: ReactionRequest, user: CurrentUser, chat: ChatServiceDep
) -> ReactionOut:
    await chat.react(user, message_id, body.emoji, add=True)
    return ReactionOut(message_id=str(message_id), emoji=body.emoji, user_id=str(user))


@router.delete("/messages/{message_id}/reactions/{emoji}", status_code=204)
async def remove_reaction(
    message_id: uuid.UUID,
    emoji: Annotated[Emoji, Path()],
    user: CurrentUser,
    chat: ChatServiceDep,
) -> Response:
    await chat.react(user, message_id, emoji, add=False)
    return Response(status_code=204)


@router.get("/search/messages")
async def search_messages(
    q: Annotated[SearchTerms, Query()],
    user: CurrentUser,
    chat: ChatServiceDep,
    limit: Annotated[int, Query(ge=1, le=SEARCH_RESULTS_MAX)] = 20,
) -> SearchResults:
    return SearchResults(results=messages_out(await chat.search(user, q, limit)))


@router.post("/conversations/{conversation_id}/typing", status_code=204)
async def signal_typing(
    conversation_id: uuid.UUID,
    user: CurrentUser,
    chat: ChatServiceDep,
    body: TypingRequest | None = None,
) -> Response:
    await chat.signal_typing(user, conversation_id, body.typing if body else True)
    return Response(status_code=204)


@router.get("/presence/{user_id}")
async def presence(user_id: uuid.UUID, user: CurrentUser, chat: ChatServiceDep) -> PresenceOut:
    return presence_out(await chat.presence_of(user, user_id))
