"""Page controllers, registered by api.app."""

from web.routes.session import SessionPages

PAGE_HANDLERS = [SessionPages]
