"""The draw-a-digit web app (`mnist-nn serve`): a FastAPI server (app.py) and its static page."""
