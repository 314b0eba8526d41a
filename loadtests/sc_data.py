"""Realistic data for the load journeys: messages, polls, files, a WebRTC offer.

No Locust import here: this module is plain data and can be read by tests.
"""

from __future__ import annotations

import os
import random
import secrets

PASSWORD = "Load-Journey-2026!"

MESSAGE_OPENERS = (
    "hey, are you around?",
    "pushed the fix, can you take a look",
    "lunch at 12:30?",
    "the deploy went fine 🎉",
    "meeting moved to 3pm, same room",
    "can you send me the slides from yesterday",
    "👍",
    "on my way",
    "I'll call you after the standup",
    "did you see the numbers from last week? they look much better than expected",
)
EMOJI = ("👍", "❤️", "😂", "🎉", "👀", "🙏")
SEARCH_TERMS = ("deploy", "meeting", "slides", "lunch", "fix", "numbers")
POLLS = (
    ("Where do we go for the team lunch?", ["Ramen", "Tacos", "Pizza", "Salad bar"]),
    ("Which day for the retro?", ["Monday", "Wednesday", "Friday"]),
    ("Ship the release today?", ["Yes", "No", "Tomorrow morning"]),
    ("Best time for the weekly sync?", ["9:00", "11:00", "14:00", "16:30"]),
)
FILE_KINDS = (
    ("photo.jpg", "image/jpeg"),
    ("notes.txt", "text/plain"),
    ("report.pdf", "application/pdf"),
    ("voice-note.ogg", "audio/ogg"),
)
#: File sizes: mostly small (chat attachments), now and then a larger document.
FILE_SIZES_BYTES = (2_048, 16_384, 65_536, 262_144)
FILE_SIZE_WEIGHTS = (40, 30, 20, 10)


def new_email(prefix: str) -> str:
    return f"load-{prefix}-{secrets.token_hex(5)}@example.com"


def message_text(tag: str) -> str:
    """A chat line carrying a tag, so its delivery can be recognised."""
    return f"{random.choice(MESSAGE_OPENERS)} [{tag}]"


def poll() -> tuple[str, list[str]]:
    question, options = random.choice(POLLS)
    return question, list(options)


def file_payload() -> tuple[str, str, bytes]:
    """(filename, content type, bytes) of a plausible attachment."""
    filename, content_type = random.choice(FILE_KINDS)
    size = random.choices(FILE_SIZES_BYTES, FILE_SIZE_WEIGHTS)[0]
    return filename, content_type, os.urandom(size)


def audio_offer_sdp() -> str:
    """An SDP offer for one Opus audio track, like a browser sends (fresh ICE credentials)."""
    ufrag, pwd = secrets.token_hex(4), secrets.token_hex(12)
    fingerprint = ":".join(f"{b:02X}" for b in secrets.token_bytes(32))
    session = random.randint(10**17, 10**18)
    lines = [
        "v=0",
        f"o=- {session} 2 IN IP4 127.0.0.1",
        "s=-",
        "t=0 0",
        "a=group:BUNDLE 0",
        "m=audio 9 UDP/TLS/RTP/SAVPF 111",
        "c=IN IP4 0.0.0.0",
        "a=rtcp:9 IN IP4 0.0.0.0",
        f"a=ice-ufrag:{ufrag}",
        f"a=ice-pwd:{pwd}",
        f"a=fingerprint:sha-256 {fingerprint}",
        "a=setup:actpass",
        "a=mid:0",
        "a=sendrecv",
        "a=rtcp-mux",
        "a=rtpmap:111 opus/48000/2",
        "a=fmtp:111 minptime=10;useinbandfec=1",
    ]
    return "\r\n".join(lines) + "\r\n"


def answer_sdp() -> str:
    """The callee's answer: the same shape, its own credentials, passive DTLS role."""
    return audio_offer_sdp().replace("a=setup:actpass", "a=setup:active")
