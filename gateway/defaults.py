"""Named defaults, each with its unit. Config keys of the same name override them."""

KEY_PREFIX = "leadgate"                # every Redis key starts with this
QUEUE_NAME = "leadgate"                # the RQ queue flush jobs go through

MAX_BODY_KB = 1024                     # request bodies above this get 413
DEDUP_TTL_DAYS = 7                     # how long an event key (and its record) is kept once done
DEFAULT_REGION = "US"                  # phones without a country code are read in this region

MEGA_BASE_URL = "https://app.gomega.ai"
MEGA_TIMEOUT_S = 15.0                  # connect/read/write timeout of one MEGA call, seconds
MAX_AGE_HOURS = 72.0                   # a lead failing transiently for longer becomes a dead letter

MAX_BATCH = 500                        # leads per bulk call (MEGA's cap)
LINGER_MS = 500                        # how long a flush waits for a batch to fill, milliseconds

LEASE_S = 30.0                         # a flush owns its customer this long between renewals
FLUSH_BUDGET_S = 20.0                  # a flush job hands its customer back after this long
DISPATCH_INTERVAL_S = 0.05             # how often each worker looks for due customers
DISPATCH_CLAIM_LIMIT = 20              # customers claimed per look

BACKOFF_BASE_S = 1.0                   # first retry waits up to this long (full jitter)
BACKOFF_CAP_S = 300.0                  # no retry waits longer than this
CREDENTIALS_RETRY_S = 60.0             # a customer whose token MEGA refuses is retried this often

REDIS_SOCKET_TIMEOUT_S = 2.0           # intake answers 503 rather than wait longer for Redis

IMPORT_CHUNK_ROWS = 500                # CSV rows read, checked and stored per Redis round trip
IMPORT_SNIFF_CHARS = 16_384            # characters read to detect a CSV file's delimiter
IMPORT_POLL_S = 0.5                    # how often a waiting import looks at its rows' progress
IMPORT_STALL_S = 30.0                  # a waiting import says so when no row finished this long
IMPORT_ERRORS_SHOWN = 100              # failed rows listed in an import's report (all in the CSV)
IMPORT_MAX_UPLOAD_MB = 16              # largest CSV accepted by POST /v1/imports, megabytes
IMPORT_API_MAX_WAIT_S = 10.0           # a dry run over the API waits no longer for MEGA's limit
IMPORT_PREVIEW_RETRIES = 4             # a dry run's MEGA call retried this often on 5xx/timeouts
