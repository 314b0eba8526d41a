"""The chat model: messages (sent and re-sent with their idempotency key), reactions
added and removed, history and search compared after every step, with Redis,
PostgreSQL and a chat instance failing under the operations."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field

from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule

from harness.checks.library.stateful import ModelMachine, begin_run
from harness.clients.realtime import Chat

PEOPLE = ("alice", "bob")
WORDS = ("hello", "lunch", "deploy", "retro")
EMOJI = ("👍", "🎉")
#: Results asked of search: more than a run sends (the API allows 50).
SEARCH_LIMIT = 50
CHAT_FAULTS = (
    None,
    "redis cut",
    "redis flaky",
    "postgres slow",
    "postgres flaky",
    "postgres cut",
    "chat-1 killed",
)


@dataclass
class Sent:
    sender: str
    word: str
    message_id: str
    #: emoji → names of who reacted.
    reactions: dict[str, set[str]] = field(default_factory=dict)


class ChatMachine(ModelMachine):
    @initialize()
    def conversation(self) -> None:
        begin_run(self.context)
        users = self.context.users
        self.chats = {name: Chat(self.context.api, users[name]) for name in PEOPLE}
        self.names = {users[name].user_id: name for name in PEOPLE}
        # A group (a direct conversation is one per pair, and would carry earlier runs').
        group = (users["bob"], users["carol"])
        self.conversation_id = self.checked(
            "set-up", lambda: self.chats["alice"].conversation(*group, title="model")
        )
        #: Marks this run's words: search finds this conversation's messages only.
        self.tag = f"m{secrets.token_hex(4)}"
        self.sent: dict[str, Sent] = {}
        self.send("alice", WORDS[0], None)  # every run starts with a message to act on

    def _text(self, word: str) -> str:
        return f"{word} {self.tag}"

    @rule(
        sender=st.sampled_from(PEOPLE),
        word=st.sampled_from(WORDS),
        fault=st.sampled_from(CHAT_FAULTS),
    )
    def send(self, sender: str, word: str, fault: str | None) -> None:
        key = uuid.uuid4().hex
        chat = self.chats[sender]
        answer = self.write(fault, lambda: chat.send(self.conversation_id, self._text(word), key))
        self.expect(answer is not None and answer.status_code == 201, f"send: {answer}")
        assert answer is not None
        self.sent[key] = Sent(sender, word, answer.json()["message_id"])

    @rule(pick=st.integers(0, 63), fault=st.sampled_from(CHAT_FAULTS))
    def resend(self, pick: int, fault: str | None) -> None:
        """A client that never saw its answer sends again with the same key."""
        key = list(self.sent)[pick % len(self.sent)]
        kept = self.sent[key]
        chat = self.chats[kept.sender]
        text = self._text(kept.word)
        answer = self.write(fault, lambda: chat.send(self.conversation_id, text, key))
        self.expect(
            answer is not None and answer.is_success,
            f"re-send with the same key: {answer and answer.status_code}",
        )
        assert answer is not None
        found = answer.json()["message_id"]
        self.expect(found == kept.message_id, f"re-send made {found}, not {kept.message_id}")

    @rule(
        who=st.sampled_from(PEOPLE),
        pick=st.integers(0, 63),
        emoji=st.sampled_from(EMOJI),
        add=st.booleans(),
        fault=st.sampled_from(CHAT_FAULTS),
    )
    def react(self, who: str, pick: int, emoji: str, add: bool, fault: str | None) -> None:
        kept = list(self.sent.values())[pick % len(self.sent)]
        http, headers = self.context.api.http, self.context.users[who].headers
        path = f"/api/v1/messages/{kept.message_id}/reactions"
        if add:
            answer = self.write(
                fault, lambda: http.post(path, json={"emoji": emoji}, headers=headers)
            )
        else:
            answer = self.write(fault, lambda: http.delete(f"{path}/{emoji}", headers=headers))
        self.expect(answer is not None and answer.is_success, f"react: {answer}")
        who_reacted = kept.reactions.setdefault(emoji, set())
        (who_reacted.add if add else who_reacted.discard)(who)

    @invariant()
    def search_finds_every_message(self) -> None:
        """Every message of the run carries its tag: searching it finds them all, once."""
        if not getattr(self, "sent", None):
            return
        http, headers = self.context.api.http, self.context.users["bob"].headers
        answer = self.read(
            lambda: http.get(
                "/api/v1/search/messages",
                params={"q": self.tag, "limit": SEARCH_LIMIT},
                headers=headers,
            )
        )
        found = sorted(m["message_id"] for m in answer.json()["results"])
        expected = sorted({s.message_id for s in self.sent.values()})[:SEARCH_LIMIT]
        self.expect(found == expected, f"search found {found}, the model has {expected}")

    @invariant()
    def history_matches_the_model(self) -> None:
        if not hasattr(self, "sent"):
            return
        history = self.checked("history", lambda: self.chats["bob"].history(self.conversation_id))
        ids = [m["message_id"] for m in history]
        self.expect(len(ids) == len(set(ids)), f"a message listed twice: {ids}")
        by_key = {m["client_msg_id"]: m for m in history}
        self.expect(
            set(by_key) == set(self.sent),
            f"history holds {len(by_key)} messages, the model {len(self.sent)}: "
            f"missing {sorted(set(self.sent) - set(by_key))[:3]}, "
            f"unexpected {sorted(set(by_key) - set(self.sent))[:3]}",
        )
        for key, kept in self.sent.items():
            self._same_message(by_key[key], kept)

    def _same_message(self, message: dict[str, object], kept: Sent) -> None:
        self.expect(message["message_id"] == kept.message_id, f"{kept.message_id} changed id")
        self.expect(message["content"] == self._text(kept.word), f"{kept.message_id}: content")
        self.expect(
            self.names.get(str(message["sender_id"])) == kept.sender,
            f"{kept.message_id}: sender",
        )
        reactions = message.get("reactions") or {}
        assert isinstance(reactions, dict)
        stored = {e: {self.names[u] for u in users} for e, users in reactions.items() if users}
        model = {e: users for e, users in kept.reactions.items() if users}
        self.expect(stored == model, f"{kept.message_id}: reactions {stored}, model {model}")
