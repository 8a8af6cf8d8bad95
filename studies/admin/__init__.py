"""The researcher's UI, one module per part: the study (study), items and clips (items),
participants and sessions (sessions), recruiting and its ledger (recruiting), background jobs
(jobs), checkpoints, generation, item imports and training (stimuli), and the admin's widgets
(widgets). Importing this package registers every model admin; the admin login is rate
limited."""

from django.contrib import admin

from studies.admin import items, jobs, recruiting, sessions, stimuli, study  # noqa: F401
from studies.login_limits import rate_limited_login

admin.site.login = rate_limited_login(admin.site.login)
