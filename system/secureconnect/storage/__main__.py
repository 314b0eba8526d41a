from secureconnect.common.server import serve
from secureconnect.storage.app import create_storage_app
from secureconnect.storage.settings import StorageSettings

if __name__ == "__main__":
    serve(StorageSettings, create_storage_app)  # type: ignore[arg-type]
