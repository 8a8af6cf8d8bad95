"""Prolific's request and response shapes, written down from its public API reference, as JSON
Schemas that refuse any field Prolific does not document (a misspelt field fails).

Sources (read 2026-12-07):
- Create a draft study: https://docs.prolific.com/api-reference/studies/create-study (OpenAPI
  `CreateStudy`; completion code types include FIXED_SCREENOUT) and the study object,
  https://docs.prolific.com/api-reference/studies/the-study-object
- The screen-out action: Prolific's "New Custom Screening (July 2025)" note
  (prolific.notion.site): action FIXED_SCREEN_OUT_PAYMENT with `fixed_screen_out_reward`
  (pence/cents, below the reward) and `slots`; at most one such code per study.
- Prolific's open-source CLI's study model (prolific-oss/cli, model/study.go, CreateStudy) and
  PsyNet's psynet/recruiters.py, which sends the same action.
- Transitions: api-reference/studies/publish-draft-study and
  api-reference/submissions/transition-submission (REJECT needs `message` >= 100 characters and
  `rejection_category`).
- Submissions list: api-reference/submissions/list-submissions (`results`, `_links.next.href`).
- Bonuses: api-reference/bonuses/set-up-bonus-payments (`study_id`, `csv_bonuses`) and
  api-reference/bonuses/pay-bonus-payments.
- Errors: a 4xx body is {"error": {"status", "error_code", "title", "detail", ...}}, `detail`
  naming each refused field with its messages.
"""

import jsonschema

_STRING = {"type": "string"}
_STRINGS = {"type": "array", "items": _STRING}
_MINUTES = {"type": "integer", "minimum": 1}

_ACTIONS = {
    "AUTOMATICALLY_APPROVE": {},
    "MANUALLY_REVIEW": {},
    "DYNAMIC_PAYMENT": {},
    "ADD_TO_PARTICIPANT_GROUP": {"participant_group": _STRING},
    "REMOVE_FROM_PARTICIPANT_GROUP": {"participant_group": _STRING},
    "REQUEST_RETURN": {"return_reason": _STRING},
    "FIXED_SCREEN_OUT_PAYMENT": {
        "fixed_screen_out_reward": {"type": "integer", "minimum": 1},
        "slots": {"type": "integer", "minimum": 1},
    },
}
ACTION = {
    "oneOf": [
        {
            "type": "object",
            "properties": {"action": {"const": name}, **fields},
            "required": ["action", *fields],
            "additionalProperties": False,
        }
        for name, fields in _ACTIONS.items()
    ]
}
CODE_TYPES = [
    "COMPLETED",
    "FAILED_ATTENTION_CHECK",
    "FOLLOW_UP_STUDY",
    "GIVE_BONUS",
    "INCOMPATIBLE_DEVICE",
    "NO_CONSENT",
    "OTHER",
    "FIXED_SCREENOUT",
]
COMPLETION_CODE = {
    "type": "object",
    "properties": {
        "code": {"type": ["string", "null"]},
        "code_type": {"enum": CODE_TYPES},
        "actor": {"enum": ["participant", "researcher"]},
        "actions": {"type": "array", "items": ACTION},
    },
    "required": ["code", "code_type", "actions"],
    "additionalProperties": False,
}
CREATE_STUDY = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 255},
        "internal_name": _STRING,
        "description": {"type": "string", "minLength": 1},
        "external_study_url": {"type": "string", "pattern": "^https?://"},
        "is_external_study_url_secure": {"type": "boolean"},
        "prolific_id_option": {"enum": ["question", "url_parameters", "not_required"]},
        "completion_codes": {"type": "array", "items": COMPLETION_CODE, "minItems": 1},
        "total_available_places": {"type": "integer", "minimum": 1},
        "estimated_completion_time": _MINUTES,
        "maximum_allowed_time": _MINUTES,
        "reward": {"type": "integer", "minimum": 1},
        "device_compatibility": {
            "type": "array",
            "items": {"enum": ["desktop", "tablet", "mobile"]},
        },
        "peripheral_requirements": {
            "type": "array",
            "items": {"enum": ["audio", "camera", "download", "microphone"]},
        },
        "filters": {"type": "array"},
        "filter_set_id": _STRING,
        "filter_set_version": {"type": "integer"},
        "naivety_distribution_rate": {"type": ["number", "null"]},
        "project": _STRING,
        "submissions_config": {"type": "object"},
        "study_labels": _STRINGS,
        "content_warnings": _STRINGS,
        "content_warning_details": _STRING,
        "metadata": _STRING,
        "credential_pool_id": _STRING,
    },
    "required": [
        "name",
        "description",
        "external_study_url",
        "prolific_id_option",
        "completion_codes",
        "total_available_places",
        "estimated_completion_time",
        "reward",
    ],
    "additionalProperties": False,
}
STUDY_TRANSITION = {
    "type": "object",
    "properties": {"action": {"enum": ["PUBLISH", "START", "PAUSE", "STOP"]}},
    "required": ["action"],
    "additionalProperties": False,
}
SUBMISSION_TRANSITION = {
    "oneOf": [
        {
            "type": "object",
            "properties": {"action": {"enum": ["APPROVE", "COMPLETE"]}},
            "required": ["action"],
            "additionalProperties": False,
        },
        {
            "type": "object",
            "properties": {
                "action": {"const": "REJECT"},
                "message": {"type": "string", "minLength": 100},
                "rejection_category": {
                    "enum": [
                        "TOO_QUICKLY",
                        "TOO_SLOWLY",
                        "FAILED_INSTRUCTIONS",
                        "INCOMP_LONGITUDINAL",
                        "FAILED_CHECK",
                        "LOW_EFFORT",
                        "MALINGERING",
                        "NO_CODE",
                        "BAD_CODE",
                        "NO_DATA",
                        "UNSUPP_DEVICE",
                        "OTHER",
                    ]
                },
            },
            "required": ["action", "message", "rejection_category"],
            "additionalProperties": False,
        },
    ]
}
BONUS_SETUP = {
    "type": "object",
    "properties": {
        "study_id": _STRING,
        "csv_bonuses": {"type": "string", "pattern": r"^([^,\n]+,[0-9]+\.[0-9]{2}\n)+$"},
    },
    "required": ["study_id", "csv_bonuses"],
    "additionalProperties": False,
}
ADD_PLACES = {
    "type": "object",
    "properties": {"total_available_places": {"type": "integer", "minimum": 1}},
    "required": ["total_available_places"],
    "additionalProperties": False,
}

# Responses, as the reference shows them (the fields we read, and some we do not).
STUDY_CREATED = {
    "id": "60f0c0ffee0000000000abcd",
    "name": "Which music fits the video?",
    "internal_name": "foley #3",
    "status": "UNPUBLISHED",
    "total_available_places": 40,
    "places_taken": 0,
    "reward": 450,
    "estimated_completion_time": 15,
    "maximum_allowed_time": 45,
    "date_created": "2026-12-07T10:00:00.000000Z",
}
STUDY_PUBLISHED = {**STUDY_CREATED, "status": "ACTIVE"}


def submissions_page(rows: list[tuple[str, str, str]], next_href: str | None) -> dict:
    return {
        "results": [
            {
                "id": sid,
                "participant_id": pid,
                "status": status,
                "started_at": "2026-12-07T10:01:00.000000Z",
                "completed_at": None,
                "study_code": None,
            }
            for sid, pid, status in rows
        ],
        "_links": {
            "self": {
                "href": "https://api.prolific.com/api/v1/studies/x/submissions/",
                "title": "Current",
            },
            "next": {"href": next_href, "title": "Next"},
            "previous": {"href": None, "title": "Previous"},
            "last": {"href": None, "title": "Last"},
        },
        "meta": {"count": len(rows)},
    }


BONUS_CREATED = {
    "id": "6200b0000000000000000001",
    "study": "60f0c0ffee0000000000abcd",
    "amount": 40,
    "fees": 13,
    "total_amount": 53,
}
VALIDATION_ERROR = {
    "error": {
        "status": 400,
        "error_code": 140001,
        "title": "Request validation failed.",
        "detail": {
            "completion_codes": ["Invalid action FIXED_SCREENOUT_PAYMENT."],
            "fixed_screenout_reward": ["Unknown field."],
        },
        "additional_information": "/api/v1/errors/140001",
        "interactive": False,
    }
}


def validate(body, schema) -> None:
    """Raise jsonschema.ValidationError where body is not what Prolific documents."""
    jsonschema.validate(body, schema)
