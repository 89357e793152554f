"""Named defaults, each with its unit. Config keys of the same name override them."""

KEY_PREFIX = "leadgate"                # every Redis key starts with this
QUEUE_NAME = "leadgate"                # the RQ queue flush jobs go through

ADMIN_TOKEN_MIN_CHARS = 32             # server.admin_token, when set
CHOSEN_SECRET_MIN_CHARS = 16           # route secrets the user picks (URL tokens, HMAC keys...)

MAX_BODY_KB = 1024                     # request bodies above this get 413
DEDUP_TTL_DAYS = 7                     # how long an event key (and its record) is kept once done
DEFAULT_REGION = "US"                  # phones without a country code are read in this region

# Reading nested JSON as dotted paths ('data.contact.email') is bounded per delivery, so that no
# body costs more memory than a small multiple of its size; beyond a limit the answer is 400/413.
FLATTEN_MAX_DEPTH = 10                 # levels of objects (and lists of objects); deeper: 400
FLATTEN_MAX_KEY_CHARS = 256            # characters in one field name; longer: 400
FLATTEN_MAX_PATHS = 10_000             # dotted paths in one delivery; more: 413
FLATTEN_PATH_CHARS_PER_BYTE = 4        # characters of all dotted paths per byte of body; more: 413
FLATTEN_MIN_PATH_CHARS = 65_536        # ...but small bodies may always have this many
FLATTEN_MAX_LIST_OBJECTS = 100         # objects of one list read as paths; the rest are dropped

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
