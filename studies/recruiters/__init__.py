"""Crowd recruiters behind one interface (see base.Recruiter): local links and codes (the
default), Prolific (REST API) and MTurk (boto3, ExternalQuestion; MTurk closed on 2026-09-30).
Every remote call that changes something goes through the ledger (ledger.perform)."""
