"""Klaviyo's per-request limits for the write endpoints (from the operation texts of the spec)."""

MAX_PROFILES_PER_IMPORT = 10_000  # POST /api/profile-bulk-import-jobs: "up to 10,000 profiles per request"
MAX_IMPORT_BYTES = 5 * 1024 * 1024  # "The maximum allowed payload size is 5MB"
MAX_PROFILE_BYTES = 100 * 1024  # "The maximum allowed payload size per-profile is 100KB"
MAX_LIST_MEMBERS_PER_CALL = 1000  # POST/DELETE /api/lists/{id}/relationships/profiles
MAX_SUBSCRIBE_PER_CALL = 1000  # POST /api/profile-subscription-bulk-create-jobs
PAGE_SIZE = 100  # the largest page[size] of import-errors, job profiles and list relationships
MAX_UNSUBSCRIBE_PER_CALL = 100  # POST /api/profile-subscription-bulk-delete-jobs: "Maximum ... per call: 100"
