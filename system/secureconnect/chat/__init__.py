"""The chat service: conversations, messages, reactions, search, presence,
typing indicators, polls and the `/ws` event stream."""
