import os

from django.core.wsgi import get_wsgi_application

from config.memory import return_large_allocations

return_large_allocations()
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()

from blog.page_cache import FastPath  # noqa: E402  (needs Django set up)
from config.middleware import HeadWithoutBody  # noqa: E402

application = FastPath(HeadWithoutBody(django_application))
