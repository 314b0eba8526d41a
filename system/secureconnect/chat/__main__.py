from secureconnect.chat.app import create_chat_app
from secureconnect.chat.settings import ChatSettings
from secureconnect.common.server import serve

if __name__ == "__main__":
    serve(ChatSettings, create_chat_app)  # type: ignore[arg-type]
