# The deployment tests serve the same real stimuli as the app's tests.
from tests.studies.conftest import _media_root, media_library  # noqa: F401
