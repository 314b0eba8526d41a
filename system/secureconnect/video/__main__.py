from secureconnect.common.server import serve
from secureconnect.video.app import create_video_app
from secureconnect.video.settings import VideoSettings

if __name__ == "__main__":
    serve(VideoSettings, create_video_app)
