"""Request checks that come before everything else (CSRF, sessions, views)."""

from django.http import HttpRequest, HttpResponseBadRequest


class MalformedRequestMiddleware:
    """A Content-Length that is not a whole number (`abc`, `-5`) is a client error: answer 400
    at once, whatever the page, instead of letting a later reader of the body fail with a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        length = request.META.get("CONTENT_LENGTH", "")
        if length and not str(length).strip().isdigit():
            return HttpResponseBadRequest(
                "Bad request: invalid Content-Length.", content_type="text/plain"
            )
        return self.get_response(request)
