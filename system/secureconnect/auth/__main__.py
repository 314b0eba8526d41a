from secureconnect.auth.app import create_auth_app
from secureconnect.auth.settings import AuthSettings
from secureconnect.common.server import serve

if __name__ == "__main__":
    serve(AuthSettings, create_auth_app)
