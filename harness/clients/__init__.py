"""The API clients of SecureConnect the harness drives: HTTP (api.py), chat, polls,
files and WebSocket events (realtime.py), and calls with real media (media.py)."""
