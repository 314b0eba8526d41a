"""HTTP routes of polls."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from secureconnect.chat.deps import PollServiceDep
from secureconnect.chat.schemas import CreatePoll, PollOut, VoteRequest, poll_out
from secureconnect.common.deps import CurrentUser
from secureconnect.common.openapi import errors

router = APIRouter(prefix="/api/v1")


@router.post("/conversations/{conversation_id}/polls", status_code=201)
async def create_poll(
    conversation_id: uuid.UUID, body: CreatePoll, user: CurrentUser, polls: PollServiceDep
) -> PollOut:
    return poll_out(await polls.create(user, conversation_id, body))


@router.get("/polls/{poll_id}")
async def get_poll(poll_id: uuid.UUID, user: CurrentUser, polls: PollServiceDep) -> PollOut:
    return poll_out(await polls.get(user, poll_id))


@router.post("/polls/{poll_id}/votes", responses=errors(409))
async def vote(
    poll_id: uuid.UUID, body: VoteRequest, user: CurrentUser, polls: PollServiceDep
) -> PollOut:
    return poll_out(await polls.vote(user, poll_id, body.option_ids))


@router.post("/polls/{poll_id}/close", responses=errors(403))
async def close_poll(poll_id: uuid.UUID, user: CurrentUser, polls: PollServiceDep) -> PollOut:
    return poll_out(await polls.close(user, poll_id))
