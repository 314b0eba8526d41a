"""The video service: calls, WebRTC signaling, the aiortc SFU, TURN credentials,
recordings to S3 and push notifications for incoming calls."""
