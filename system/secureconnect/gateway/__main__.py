from secureconnect.common.server import serve
from secureconnect.gateway.app import create_gateway_app
from secureconnect.gateway.settings import GatewaySettings

if __name__ == "__main__":
    serve(GatewaySettings, create_gateway_app)
