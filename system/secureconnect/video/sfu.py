"""The SFU: per call a room; per participant one server-side aiortc peer
connection; every participant's tracks forwarded to all the others.

Negotiation. The client offers first (its own tracks, sendrecv). The server
answers, attaching the tracks of the others to the transceivers the offer
made that carry nothing yet. Tracks that did not fit, and tracks of people
who join later, are added by the server: it offers, the client answers
(server-initiated renegotiation). One negotiation at a time per peer: an
offer from a client while the server's own offer is unanswered is refused
(`negotiation_in_progress`), and a server offer unanswered for
NEGOTIATION_TIMEOUT_S drops the peer. After every negotiation the client gets
a `tracks` frame mapping each mid it receives to the user it comes from.

Forwarding uses aiortc's MediaRelay: each incoming track is decoded once and
re-encoded for each receiver. A transceiver whose track ended (its source
left) is never reused, since aiortc's sender stops for good with its track.

Cleanup. A participant's peer connection is closed when their signaling
socket closes, when they leave the call, and — for everyone — when the call
ends; `sfu_peer_connections` counts the open ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpTransceiver,
    RTCSessionDescription,
)
from aiortc.contrib.media import MediaRelay
from aiortc.sdp import candidate_from_sdp

from secureconnect.common.errors import DomainError
from secureconnect.video.frames import (
    CLOSE_INVALID_PAYLOAD,
    CLOSE_TIMEOUT,
    IceCandidate,
    check_sdp,
    invalid_sdp,
)
from secureconnect.video.metrics import SFU_FORWARDED_TRACKS, SFU_PEER_CONNECTIONS

log = logging.getLogger(__name__)

#: How long the server waits for the answer to its own offer, seconds.
NEGOTIATION_TIMEOUT_S = 10.0

Send = Callable[[str, dict[str, Any]], Awaitable[None]]
Drop = Callable[[int, str], Awaitable[None]]


def negotiation_in_progress() -> DomainError:
    return DomainError(
        409, "negotiation_in_progress", "answer the server's offer before sending another"
    )


@dataclass(eq=False)
class Source:
    """A track one participant sends to the SFU."""

    user_id: uuid.UUID
    track: MediaStreamTrack

    @property
    def key(self) -> str:
        return self.track.id


@dataclass(eq=False)
class SfuPeer:
    user_id: uuid.UUID
    pc: RTCPeerConnection
    send: Send
    drop: Drop
    #: source key → the transceiver that carries it to this peer.
    forwarded: dict[str, RTCRtpTransceiver] = field(default_factory=dict)
    #: Transceivers that carried a track once; never reused.
    spent: set[RTCRtpTransceiver] = field(default_factory=set)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    negotiated: bool = False
    answer_waiter: asyncio.Future[str] | None = None
    sync_task: asyncio.Task[None] | None = None
    closed: bool = False


def new_peer_connection() -> RTCPeerConnection:
    # No ICE servers: the SFU answers from its own host candidates, and aiortc's
    # default (a public STUN server) must never be contacted.
    return RTCPeerConnection(RTCConfiguration(iceServers=[]))


class SfuRoom:
    def __init__(self, call_id: uuid.UUID, service: str) -> None:
        self.call_id = call_id
        self.service = service
        self.relay = MediaRelay()
        self.peers: dict[uuid.UUID, SfuPeer] = {}
        self.sources: list[Source] = []
        #: Called with (user, new sources) after each offer that brought tracks (recording).
        self.on_sources: list[Callable[[uuid.UUID, list[Source]], Awaitable[None]]] = []

    # -- membership --------------------------------------------------------------

    async def connect(self, user_id: uuid.UUID, send: Send, drop: Drop) -> SfuPeer:
        await self.disconnect(user_id)  # a reconnect replaces the old connection
        pc = new_peer_connection()
        SFU_PEER_CONNECTIONS.labels(self.service).inc()
        peer = SfuPeer(user_id, pc, send, drop)
        pc.on("track", lambda track: self._add_source(peer, track))
        self.peers[user_id] = peer
        return peer

    async def disconnect(self, user_id: uuid.UUID) -> None:
        peer = self.peers.pop(user_id, None)
        if peer is None:
            return
        await self._close_peer(peer)
        self.sources = [s for s in self.sources if s.user_id != user_id]

    async def close(self) -> None:
        for user_id in list(self.peers):
            await self.disconnect(user_id)

    async def _close_peer(self, peer: SfuPeer) -> None:
        if peer.closed:
            return
        peer.closed = True
        if peer.answer_waiter is not None and not peer.answer_waiter.done():
            peer.answer_waiter.cancel()
        if peer.sync_task is not None and peer.sync_task is not asyncio.current_task():
            peer.sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await peer.sync_task
        SFU_FORWARDED_TRACKS.labels(self.service).dec(len(peer.forwarded))
        await peer.pc.close()
        SFU_PEER_CONNECTIONS.labels(self.service).dec()

    # -- negotiation -------------------------------------------------------------

    async def offer(self, user_id: uuid.UUID, sdp: str) -> None:
        """The client's offer: answer it (and tell the others about new tracks)."""
        peer = self._peer(user_id)
        check_sdp(sdp)
        if peer.answer_waiter is not None or peer.lock.locked():
            raise negotiation_in_progress()
        async with peer.lock:
            before = {s.key for s in self.sources}
            try:
                await peer.pc.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
            except Exception as exc:  # aiortc rejects what it cannot use with various errors
                await self._reset(peer)
                raise invalid_sdp(f"the offer cannot be used: {exc}"[:200]) from exc
            self._attach(peer, self._pending(peer), new_transceivers=False)
            await peer.pc.setLocalDescription(await peer.pc.createAnswer())
            peer.negotiated = True
            await peer.send("answer", {"sdp": peer.pc.localDescription.sdp})
            await peer.send("tracks", self._track_map(peer))
        new = [s for s in self.sources if s.key not in before and s.user_id == user_id]
        for listener in self.on_sources:
            if new:
                await listener(user_id, new)
        self._want_sync(peer)
        for other in self.peers.values():
            if other is not peer:
                self._want_sync(other)

    async def answer(self, user_id: uuid.UUID, sdp: str) -> None:
        """The client's answer to the server's offer."""
        peer = self._peer(user_id)
        check_sdp(sdp)
        waiter = peer.answer_waiter
        if waiter is None or waiter.done():
            raise DomainError(409, "no_offer_pending", "there is no server offer to answer")
        waiter.set_result(sdp)

    async def ice(self, user_id: uuid.UUID, candidate: IceCandidate | None) -> None:
        peer = self._peer(user_id)
        if candidate is None or not candidate.candidate:
            return  # end of candidates: aiortc needs no marker
        try:
            parsed = candidate_from_sdp(candidate.candidate.removeprefix("candidate:"))
        except (ValueError, IndexError) as exc:
            raise DomainError(400, "invalid_candidate", "the ICE candidate does not parse") from exc
        parsed.sdpMid, parsed.sdpMLineIndex = candidate.sdpMid, candidate.sdpMLineIndex
        if parsed.sdpMid is None and parsed.sdpMLineIndex is None:
            parsed.sdpMLineIndex = 0
        await peer.pc.addIceCandidate(parsed)

    # -- internals ---------------------------------------------------------------

    def _peer(self, user_id: uuid.UUID) -> SfuPeer:
        peer = self.peers.get(user_id)
        if peer is None:
            raise DomainError(409, "not_connected", "not connected to this call's SFU")
        return peer

    async def _reset(self, peer: SfuPeer) -> None:
        """After an offer aiortc refused, start over with a fresh peer connection."""
        self.sources = [s for s in self.sources if s.user_id != peer.user_id]
        SFU_FORWARDED_TRACKS.labels(self.service).dec(len(peer.forwarded))
        peer.forwarded, peer.spent, peer.negotiated = {}, set(), False
        await peer.pc.close()
        peer.pc = new_peer_connection()
        peer.pc.on("track", lambda track: self._add_source(peer, track))

    def _add_source(self, peer: SfuPeer, track: MediaStreamTrack) -> None:
        if self.peers.get(peer.user_id) is peer:
            self.sources.append(Source(peer.user_id, track))

    def _pending(self, peer: SfuPeer) -> list[Source]:
        return [
            s for s in self.sources if s.user_id != peer.user_id and s.key not in peer.forwarded
        ]

    def _attach(self, peer: SfuPeer, sources: list[Source], *, new_transceivers: bool) -> None:
        """Send `sources` to `peer`: on free offered transceivers, else (when allowed) new ones."""
        for source in sources:
            free = next(
                (
                    t
                    for t in peer.pc.getTransceivers()
                    if t.kind == source.track.kind
                    and t.sender.track is None
                    and t not in peer.spent
                ),
                None,
            )
            if free is None and not new_transceivers:
                continue
            relayed = self.relay.subscribe(source.track)
            if free is not None:
                free.sender.replaceTrack(relayed)
                free.direction = "sendrecv" if free.direction == "recvonly" else "sendonly"
                transceiver = free
            else:
                transceiver = peer.pc.addTransceiver(relayed, direction="sendonly")
            peer.forwarded[source.key] = transceiver
            peer.spent.add(transceiver)
            SFU_FORWARDED_TRACKS.labels(self.service).inc()

    def _track_map(self, peer: SfuPeer) -> dict[str, Any]:
        owners = {s.key: s.user_id for s in self.sources}
        tracks = [
            {"mid": t.mid, "kind": t.kind, "user_id": str(owners[key])}
            for key, t in peer.forwarded.items()
            if key in owners and t.mid is not None
        ]
        return {"tracks": tracks}

    def _want_sync(self, peer: SfuPeer) -> None:
        if peer.closed or not peer.negotiated or not self._pending(peer):
            return
        if peer.sync_task is None or peer.sync_task.done():
            peer.sync_task = asyncio.create_task(
                self._sync(peer), name=f"sfu-sync-{self.call_id}-{peer.user_id}"
            )

    async def _sync(self, peer: SfuPeer) -> None:
        """Server-initiated renegotiations until `peer` receives every track."""
        while not peer.closed and (pending := self._pending(peer)):
            async with peer.lock:
                self._attach(peer, pending, new_transceivers=True)
                await peer.pc.setLocalDescription(await peer.pc.createOffer())
                peer.answer_waiter = asyncio.get_running_loop().create_future()
                await peer.send("offer", {"sdp": peer.pc.localDescription.sdp})
                try:
                    async with asyncio.timeout(NEGOTIATION_TIMEOUT_S):
                        sdp = await peer.answer_waiter
                    await peer.pc.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
                except TimeoutError:
                    await peer.drop(CLOSE_TIMEOUT, "the server's offer was not answered in time")
                    return
                except Exception as exc:
                    log.info("renegotiation failed", extra={"error": repr(exc)})
                    await peer.drop(
                        CLOSE_INVALID_PAYLOAD, "the answer to the server's offer is unusable"
                    )
                    return
                finally:
                    peer.answer_waiter = None
                await peer.send("tracks", self._track_map(peer))


class Sfu:
    """The rooms of this instance, one per call with someone connected."""

    def __init__(self, service: str) -> None:
        self.service = service
        self.rooms: dict[uuid.UUID, SfuRoom] = {}
        #: Hooks run on each new room (the recorder subscribes to its sources).
        self.on_room: list[Callable[[SfuRoom], None]] = []

    def room(self, call_id: uuid.UUID) -> SfuRoom:
        room = self.rooms.get(call_id)
        if room is None:
            room = self.rooms[call_id] = SfuRoom(call_id, self.service)
            for hook in self.on_room:
                hook(room)
        return room

    async def leave(self, call_id: uuid.UUID, user_id: uuid.UUID) -> None:
        room = self.rooms.get(call_id)
        if room is None:
            return
        await room.disconnect(user_id)
        if not room.peers and self.rooms.get(call_id) is room:
            del self.rooms[call_id]  # a recorder keeps its own state per call

    async def close_room(self, call_id: uuid.UUID) -> SfuRoom | None:
        room = self.rooms.pop(call_id, None)
        if room is not None:
            await room.close()
        return room

    async def close(self) -> None:
        for call_id in list(self.rooms):
            await self.close_room(call_id)

    @property
    def peer_connections(self) -> int:
        return sum(len(room.peers) for room in self.rooms.values())
